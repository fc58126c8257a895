/// Lower-case hex digits written straight into a byte buffer: the one writer
/// behind event ids, request ids and trace context, none of which builds a
/// `String` per digit group.
package enum HexDigits {
  /// `value` as exactly `count` digits (its low `count` nibbles), ending at
  /// `start + count`.
  package static func write(
    _ value: UInt64, digits count: Int, into buffer: UnsafeMutableBufferPointer<UInt8>,
    at start: Int
  ) {
    if count == 16 {
      // Eight digits per word, all at once: a quarter of the per-digit loop's cost.
      precondition(start >= 0 && start + 16 <= buffer.count)
      let base = UnsafeMutableRawPointer(buffer.baseAddress! + start)
      base.storeBytes(of: eightDigits(UInt32(truncatingIfNeeded: value >> 32)), as: UInt64.self)
      base.storeBytes(
        of: eightDigits(UInt32(truncatingIfNeeded: value)), toByteOffset: 8, as: UInt64.self)
      return
    }
    var rest = value
    for i in stride(from: start + count - 1, through: start, by: -1) {
      buffer[i] = digit(UInt8(truncatingIfNeeded: rest & 0xF))
      rest >>= 4
    }
  }

  /// The eight hex digits of `value`, most significant first in memory: its
  /// nibbles spread one to a byte, then each byte turned into its digit
  /// (`a`...`f` get 39 more than `0`...`9` would).
  @inline(__always)
  package static func eightDigits(_ value: UInt32) -> UInt64 {
    var x = UInt64(value)
    x = (x | x << 16) & 0x0000_FFFF_0000_FFFF
    x = (x | x << 8) & 0x00FF_00FF_00FF_00FF
    x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F
    let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
    let digits = x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
    // The most significant nibble is in the highest byte: first in memory
    // once big-endian.
    return digits.bigEndian
  }

  /// How many digits `value` needs (at least one).
  package static func count(_ value: UInt64) -> Int {
    max(1, (UInt64.bitWidth - value.leadingZeroBitCount + 3) / 4)
  }

  package static func digit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
  }
}
