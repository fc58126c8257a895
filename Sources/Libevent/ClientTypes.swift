/// A complete upstream answer: status and body, copied out of libevent.
public struct ClientResponse: Sendable {
  public let status: Int
  public let body: [UInt8]

  public init(status: Int, body: [UInt8]) {
    self.status = status
    self.body = body
  }
}

/// Why an upstream attempt produced no answer.
public enum ClientFailure: Error, Sendable, Equatable {
  /// Refused, unreachable, or no connection within its time, at every
  /// address the host has: no request was sent.
  case connect
  /// The host name did not resolve (the name and the resolver's reason).
  case dns(String)
  /// The TLS handshake failed, or the upstream's certificate did not verify
  /// (the reason, as OpenSSL gives it): no request was sent.
  case tls(String)
  /// No complete answer within the attempt's deadline.
  case timeout
  /// The connection closed (or reset) before a complete answer arrived.
  case closed
  /// The answer was not HTTP as libevent understands it, or not a final one.
  case invalidResponse
  /// The answer's body passed the client's body limit; the connection was
  /// closed without reading the rest.
  case tooLarge
  /// No connection could be opened for a reason of this process's own (out
  /// of file descriptors or memory): the upstream was never reached.
  case local
}

public struct ClientRequest: Sendable {
  public var method: HTTPMethod
  public var path: String
  public var headers: [(String, String)]
  public var body: [UInt8]
  /// Non-idempotent requests are only ever sent on a fresh connection: a
  /// keep-alive socket the server may already have closed could fail a request
  /// the server never saw (the keep-alive race, docs/libevent-boundary.md).
  public var idempotent: Bool
  /// This request's own deadline once it has a connection; nil for the
  /// client's timeout.
  public var timeoutMs: Int64?

  public init(
    method: HTTPMethod, path: String, headers: [(String, String)] = [], body: [UInt8] = [],
    idempotent: Bool? = nil, timeoutMs: Int64? = nil
  ) {
    self.timeoutMs = timeoutMs.map { max(1, $0) }
    self.method = method
    self.path = path
    self.headers = headers
    self.body = body
    self.idempotent = idempotent ?? (method != .post && method != .patch)
  }
}

/// The client's connections now: carrying a request (or being opened for
/// one), idle in the pool, and requests waiting for a connection.
public struct ConnectionUse: Sendable, Equatable {
  public var busy: Int
  public var idle: Int
  public var waiting: Int

  public init(busy: Int = 0, idle: Int = 0, waiting: Int = 0) {
    self.busy = busy
    self.idle = idle
    self.waiting = waiting
  }
}
