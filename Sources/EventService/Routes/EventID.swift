import Telemetry

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
    // 8-4-4-4-12 digits.
    return String(unsafeUninitializedCapacity: 36) { buffer in
      HexDigits.write(high >> 32, digits: 8, into: buffer, at: 0)
      HexDigits.write(high >> 16, digits: 4, into: buffer, at: 9)
      HexDigits.write(high, digits: 4, into: buffer, at: 14)
      HexDigits.write(low >> 48, digits: 4, into: buffer, at: 19)
      HexDigits.write(low, digits: 12, into: buffer, at: 24)
      for dash in [8, 13, 18, 23] { buffer[dash] = UInt8(ascii: "-") }
      return 36
    }
  }
}
