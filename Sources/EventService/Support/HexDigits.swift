/// Lower-case hex digits written straight into a byte buffer: the one writer
/// behind event ids, request ids and trace context, none of which builds a
/// `String` per digit group.
enum HexDigits {
  /// `value` as exactly `count` digits (its low `count` nibbles), ending at
  /// `start + count`.
  static func write(
    _ value: UInt64, digits count: Int, into buffer: UnsafeMutableBufferPointer<UInt8>,
    at start: Int
  ) {
    var rest = value
    for i in stride(from: start + count - 1, through: start, by: -1) {
      buffer[i] = digit(UInt8(truncatingIfNeeded: rest & 0xF))
      rest >>= 4
    }
  }

  /// How many digits `value` needs (at least one).
  static func count(_ value: UInt64) -> Int {
    max(1, (UInt64.bitWidth - value.leadingZeroBitCount + 3) / 4)
  }

  static func digit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
  }
}
