import CLibevent
import Glibc

/// What RFC 9112 forbids in a request's framing and libevent 2.1's parser
/// lets through, checked on the headers it parsed. Behind a proxy that
/// reads such a request differently, each is a way to smuggle a second
/// request inside the first; nginx and Envoy answer all of them 400.
///
/// libevent has already read the body by the time a request reaches us,
/// framed its own way, so a request found here is answered 400 and its
/// connection closed: whatever it left unread is never parsed as a request.
/// What libevent hides entirely (chunk sizes, folded header lines, bare LF
/// line ends) is listed in docs/libevent-boundary.md.
enum RequestFraming {
  /// The framing problem of a request, if it has one; and whether its body
  /// was chunked (its connection then closes after the reply too: libevent
  /// reads chunk sizes leniently, so nothing after them can be trusted).
  static func check(_ raw: OpaquePointer) -> (problem: String?, chunked: Bool) {
    var length: UInt64?
    var chunked = false
    var entry = evhttp_request_get_input_headers(raw)?.pointee.tqh_first
    while let header = entry {
      entry = header.pointee.next.tqe_next
      guard let name = header.pointee.key, let value = header.pointee.value else { continue }
      guard isToken(name) else {
        return ("a header name that is not a token (whitespace before its colon?)", chunked)
      }
      // Only names starting with C or T can matter below.
      let first = UInt8(bitPattern: name.pointee) | 0x20
      guard first == UInt8(ascii: "c") || first == UInt8(ascii: "t") else { continue }
      if strcasecmp(name, "Content-Length") == 0 {
        guard let parsed = digits(value) else {
          return ("Content-Length must be plain digits", chunked)
        }
        // Repeats of one value may be merged (RFC 9110 section 8.6).
        if let length, length != parsed { return ("two different Content-Length values", chunked) }
        length = parsed
      } else if strcasecmp(name, "Transfer-Encoding") == 0 {
        guard strcasecmp(value, "chunked") == 0, !chunked else {
          return ("Transfer-Encoding must be chunked, once", chunked)
        }
        chunked = true
      }
    }
    if length != nil && chunked { return ("both Content-Length and Transfer-Encoding", chunked) }
    return (nil, chunked)
  }

  /// RFC 9110's `token`: visible ASCII but delimiters.
  private static func isToken(_ text: UnsafePointer<CChar>) -> Bool {
    var p = text
    guard p.pointee != 0 else { return false }
    while p.pointee != 0 {
      guard tokenCharacters[Int(UInt8(bitPattern: p.pointee))] else { return false }
      p += 1
    }
    return true
  }

  private static let tokenCharacters: [Bool] = (0..<256).map { byte in
    guard byte > 32 && byte < 127 else { return false }
    return !"\"(),/:;<=>?@[\\]{}".utf8.contains(UInt8(byte))
  }

  /// `1*DIGIT` as a number (nil past 18 digits: no body is that large).
  private static func digits(_ text: UnsafePointer<CChar>) -> UInt64? {
    var p = text
    var value: UInt64 = 0
    var count = 0
    while p.pointee != 0 {
      let byte = UInt8(bitPattern: p.pointee)
      guard byte >= 48 && byte <= 57, count < 18 else { return nil }
      value = value * 10 + UInt64(byte - 48)
      count += 1
      p += 1
    }
    return count > 0 ? value : nil
  }
}
