/// `X-Request-Id`: the client's if it is 1–128 characters of `[A-Za-z0-9._:-]`,
/// else a new one: a random per-process prefix and a counter.
package struct RequestIDSource {
  private let prefixBytes: [UInt8]
  private var counter: UInt64 = 0

  package init<G: RandomNumberGenerator>(using random: inout G) {
    prefixBytes = Array(String(UInt32.random(in: .min ... .max, using: &random), radix: 16).utf8)
  }

  package mutating func id(from header: String?) -> String {
    if let header, Self.isValid(header) { return header }
    counter += 1
    // Up to 15 bytes stay in a small `String` (no heap allocation); built
    // from bytes on the stack, this costs about a tenth of the interpolation
    // it replaced.
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
      let digits = HexDigits.count(counter)
      var end = buffer.count - digits
      HexDigits.write(counter, digits: digits, into: buffer, at: end)
      end -= 1
      buffer[end] = UInt8(ascii: "-")
      for byte in prefixBytes.reversed() {
        end -= 1
        buffer[end] = byte
      }
      return String(decoding: UnsafeBufferPointer(rebasing: buffer[end...]), as: UTF8.self)
    }
  }

  package static func isValid(_ value: String) -> Bool {
    TokenCharacters.requestID.matches(value, length: 1...128)
  }
}
