import CLibevent
import Glibc

/// A reply's status line and headers, written as bytes.
///
/// evhttp formats every header of a reply with `printf` (about 1,300
/// instructions each). Instead the headers that need no help from evhttp
/// are appended here to the reason phrase, which evhttp copies into the
/// status line as it is: `HTTP/1.1 200 OK\r\nContent-Type: …\r\nX-Request-Id: …`
/// then evhttp's own line end. evhttp still writes the headers it must see
/// itself: `Connection` (it decides from it whether to close), `Date` and
/// `Content-Length` (it would otherwise add its own).
struct ReplyHead {
  /// `\r\nName: value` for each header, in order.
  private var lines: [UInt8] = []

  mutating func add(_ name: StaticString, _ value: UnsafeBufferPointer<UInt8>) {
    // A literal name needs no check.
    name.withUTF8Buffer { append($0, value) }
  }

  mutating func add(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) {
    guard Self.isSafe(name) else { return }
    append(name, value)
  }

  private mutating func append(
    _ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>
  ) {
    // A value that could end the line is never written.
    guard Self.isSafe(value) else { return }
    if lines.isEmpty { lines.reserveCapacity(160) }
    lines.append(13)
    lines.append(10)
    lines.append(contentsOf: name)
    lines.append(UInt8(ascii: ":"))
    lines.append(UInt8(ascii: " "))
    lines.append(contentsOf: value)
  }

  /// No CR, LF or NUL (`memchr` each: a loop over the bytes costs more).
  private static func isSafe(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
    return memchr(base, 13, bytes.count) == nil && memchr(base, 10, bytes.count) == nil
      && memchr(base, 0, bytes.count) == nil
  }

  /// The reason phrase for `status` with the headers after it, as the C
  /// string evhttp expects.
  func withReason<R>(for status: Int, _ body: (UnsafePointer<CChar>) -> R) -> R {
    let phrase = Self.phrase(status)
    return withUnsafeTemporaryAllocation(
      of: UInt8.self, capacity: phrase.utf8CodeUnitCount + lines.count + 1
    ) {
      buffer in
      var end = 0
      phrase.withUTF8Buffer { bytes in
        for byte in bytes {
          buffer[end] = byte
          end += 1
        }
      }
      lines.withUnsafeBufferPointer { bytes in
        if let source = bytes.baseAddress, !bytes.isEmpty {
          (buffer.baseAddress! + end).update(from: source, count: bytes.count)
          end += bytes.count
        }
      }
      buffer[end] = 0
      return buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: end + 1) { body($0) }
    }
  }

  /// Reason phrases (RFC 9110); clients must ignore them, so a status
  /// missing here gets its class's.
  static func phrase(_ status: Int) -> StaticString {
    switch status {
    case 200: "OK"
    case 400: "Bad Request"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 408: "Request Timeout"
    case 409: "Conflict"
    case 413: "Content Too Large"
    case 415: "Unsupported Media Type"
    case 422: "Unprocessable Content"
    case 429: "Too Many Requests"
    case 500: "Internal Server Error"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 504: "Gateway Timeout"
    case 200..<300: "Success"
    case 300..<400: "Redirection"
    case 400..<500: "Client Error"
    default: "Server Error"
    }
  }
}
