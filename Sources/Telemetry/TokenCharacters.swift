/// The character sets of the service's identifiers, checked byte by byte
/// (only ASCII can match) against a 256-entry table: request ids, user ids,
/// and the bytes a URL path segment may carry unencoded.
package struct TokenCharacters {
  private let allowed: [Bool]

  /// `[A-Za-z0-9]` plus the bytes of `extra`.
  package init(extra: String) {
    var allowed = [Bool](repeating: false, count: 256)
    for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { allowed[Int(byte)] = true }
    for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { allowed[Int(byte)] = true }
    for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { allowed[Int(byte)] = true }
    for byte in extra.utf8 { allowed[Int(byte)] = true }
    self.allowed = allowed
  }

  /// `X-Request-Id`.
  package static let requestID = TokenCharacters(extra: "._:-")
  /// The `:id` of /getEventsByUserId.
  package static let userID = TokenCharacters(extra: "_.-")
  /// RFC 3986's unreserved characters: a path segment's bytes left unencoded.
  package static let unreserved = TokenCharacters(extra: "-._~")

  package func contains(_ byte: UInt8) -> Bool { allowed[Int(byte)] }

  /// `text` has `length` bytes, all allowed. A table lookup per byte,
  /// cheaper than the scan of a literal it replaced.
  package func matches(_ text: String, length: ClosedRange<Int>) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
      length.contains(bytes.count)
        && allowed.withUnsafeBufferPointer { table in
          bytes.allSatisfy { table[Int($0)] }
        }
    }
  }
}
