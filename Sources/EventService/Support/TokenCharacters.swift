/// The character sets of the service's identifiers, checked byte by byte
/// (only ASCII can match): request ids, user ids, and the bytes a URL path
/// segment may carry unencoded.
enum TokenCharacters {
  /// `[A-Za-z0-9]` plus `extra`.
  static func isAllowed(_ byte: UInt8, extra: StaticString) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    default:
      return UnsafeBufferPointer(start: extra.utf8Start, count: extra.utf8CodeUnitCount)
        .contains(byte)
    }
  }

  /// `text` has `length` bytes, all allowed.
  static func matches(_ text: String, length: ClosedRange<Int>, extra: StaticString) -> Bool {
    length.contains(text.utf8.count) && text.utf8.allSatisfy { isAllowed($0, extra: extra) }
  }
}
