/// Ids for new events: random (version 4) UUIDs from the system's CSPRNG,
/// unique across concurrent requests and restarts without any shared state.
enum EventID {
  static func make() -> String {
    // Two 64-bit draws (two getrandom calls), not one per byte, and the hex
    // written into one buffer: about a tenth of the cost it had.
    var random = SystemRandomNumberGenerator()
    var high = random.next() as UInt64
    var low = random.next() as UInt64
    high = high & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000  // version 4
    low = low & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000  // variant 10
    return String(unsafeUninitializedCapacity: 36) { buffer in
      var i = 0
      for (index, nibble) in (0..<32).enumerated() {
        if index == 8 || index == 12 || index == 16 || index == 20 {
          buffer[i] = UInt8(ascii: "-")
          i += 1
        }
        let word = nibble < 16 ? high : low
        let value = UInt8(truncatingIfNeeded: word >> UInt64(60 - (nibble % 16) * 4)) & 0xF
        buffer[i] = value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
        i += 1
      }
      return i
    }
  }
}
