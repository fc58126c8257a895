public struct HTTPServerLimits: Sendable {
  /// Bodies above it are refused: one that announces more in
  /// `Content-Length` before it is read (`earlyReply` 413), one that grows
  /// past it by libevent (its own 413); never more is buffered.
  public var maxBodyBytes: Int
  public var maxHeadersBytes: Int
  /// A request's headers must arrive within this of its first byte (a new
  /// connection's: of the accept), however slowly they trickle.
  public var headerTimeoutMs: Int64
  /// Its body within this of the end of its headers.
  public var bodyTimeoutMs: Int64
  /// The idle timeout between keep-alive requests and while writing a reply.
  public var idleTimeoutMs: Int64
  /// The whole answer (`closingReply`) the server gives a request it
  /// refuses before the handler sees it.
  public var earlyReply: @Sendable (EarlyRefusal) -> [UInt8]

  public init(
    maxBodyBytes: Int = 1 << 20, maxHeadersBytes: Int = 16 << 10, headerTimeoutMs: Int64 = 10_000,
    bodyTimeoutMs: Int64 = 10_000, idleTimeoutMs: Int64 = 20_000,
    earlyReply: @escaping @Sendable (EarlyRefusal) -> [UInt8] = HTTPServerLimits.plainReply
  ) {
    self.maxBodyBytes = maxBodyBytes
    self.maxHeadersBytes = maxHeadersBytes
    self.headerTimeoutMs = headerTimeoutMs
    self.bodyTimeoutMs = bodyTimeoutMs
    self.idleTimeoutMs = idleTimeoutMs
    self.earlyReply = earlyReply
  }

  /// A complete HTTP/1.1 answer with `body`, closing the connection.
  public static func closingReply(status: Int, reason: String, json body: [UInt8]) -> [UInt8] {
    Array(
      "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        .utf8) + body
  }

  public static let plainReply: @Sendable (EarlyRefusal) -> [UInt8] = { refusal in
    closingReply(
      status: refusal.status, reason: refusal.reason,
      json: Array(#"{"error":"\#(refusal.status)"}"#.utf8))
  }
}

/// Why the server refuses a request before its handler sees it.
public enum EarlyRefusal: Sendable, Equatable {
  /// Its headers or body did not arrive in time (408).
  case timeout
  /// Its `Content-Length` is over the body limit (413).
  case tooLarge(announced: Int)
  /// Its framing is one RFC 9112 forbids (400).
  case badFraming(String)

  public var status: Int {
    switch self {
    case .timeout: 408
    case .tooLarge: 413
    case .badFraming: 400
    }
  }

  public var reason: String {
    switch self {
    case .timeout: "Request Timeout"
    case .tooLarge: "Payload Too Large"
    case .badFraming: "Bad Request"
    }
  }
}
