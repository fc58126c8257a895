import Glibc

/// A reply's status line and headers, written as bytes.
///
/// evhttp formats every header of a reply with `printf`, a sixth of a small
/// request's cost (docs/performance.md). Instead the headers that need no help from evhttp
/// are appended here to the reason phrase, which evhttp copies into the
/// status line as it is: `HTTP/1.1 200 OK\r\nContent-Type: …\r\nX-Request-Id: …`
/// then evhttp's own line end. evhttp still writes the headers it must see
/// itself: `Connection` (it decides from it whether to close), `Date` and
/// `Content-Length` (it would otherwise add its own).
struct ReplyHead {
  /// The two headers every reply of the service has, kept as values and
  /// written straight into the status line, with no bytes built first.
  var contentType: StaticString?
  var requestID: String?
  /// `\r\nName: value` for each other header, in order.
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
    var id = requestID ?? ""
    return id.withUTF8 { id in
      let phrase = Self.phrase(status)
      let contentType = contentType.flatMap(Self.safe)
      let id = Self.isSafe(id) ? id : UnsafeBufferPointer(start: nil, count: 0)
      let capacity =
        phrase.utf8CodeUnitCount + (contentType.map { $0.utf8CodeUnitCount + 16 } ?? 0)
        + (id.isEmpty ? 0 : id.count + 16) + lines.count + 1
      return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
        var writer = Writer(buffer: buffer)
        phrase.withUTF8Buffer { writer.write($0) }
        if let contentType {
          Self.contentTypeName.withUTF8Buffer { writer.write($0) }
          contentType.withUTF8Buffer { writer.write($0) }
        }
        if !id.isEmpty {
          Self.requestIDName.withUTF8Buffer { writer.write($0) }
          writer.write(id)
        }
        lines.withUnsafeBufferPointer { writer.write($0) }
        buffer[writer.end] = 0
        return buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: writer.end + 1) {
          body($0)
        }
      }
    }
  }

  private static let contentTypeName: StaticString = "\r\nContent-Type: "
  private static let requestIDName: StaticString = "\r\nX-Request-Id: "

  private static func safe(_ value: StaticString) -> StaticString? {
    value.withUTF8Buffer { isSafe($0) } ? value : nil
  }

  private struct Writer {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var end = 0

    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
      guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
      (buffer.baseAddress! + end).update(from: source, count: bytes.count)
      end += bytes.count
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
