import Libevent
import MiniJSON
import Telemetry
import UpstreamAccess

/// Every error answer the service gives, in one vocabulary: status, a stable
/// code, a message for people, and the extra fields and headers some carry.
/// Sent as `{"error": code, "message": message, …}`.
public struct ServiceError: Error, Sendable {
  public enum Code: String, Sendable {
    case badRequest = "bad_request"
    case invalidBody = "invalid_body"
    case invalidUserID = "invalid_user_id"
    case notFound = "not_found"
    case userNotFound = "user_not_found"
    case methodNotAllowed = "method_not_allowed"
    case payloadTooLarge = "payload_too_large"
    case requestTimeout = "request_timeout"
    case unsupportedMediaType = "unsupported_media_type"
    case upstreamRejected = "upstream_rejected"
    case upstreamUnavailable = "upstream_unavailable"
    case upstreamTooLarge = "upstream_too_large"
    case upstreamTimeout = "upstream_timeout"
    case overloaded
    case circuitOpen = "circuit_open"
    case invalidIdempotencyKey = "invalid_idempotency_key"
    case requestInProgress = "request_in_progress"
    case idempotencyKeyReused = "idempotency_key_reused"
    case idempotencyStoreUnavailable = "idempotency_store_unavailable"
  }

  public let status: Int
  public let code: Code
  public let message: String
  /// `circuit_open`: how long until the breaker lets a request through.
  public var retryAfterMs: Int64? = nil
  /// `upstream_rejected`: the upstream's own error text, when it gave one.
  public var upstreamMessage: String? = nil
  /// `method_not_allowed`: the `Allow` header.
  public var allow: StaticString? = nil

  /// `Retry-After` in whole seconds, rounded up (at least 1), for `retryAfterMs`.
  public var retryAfterSeconds: Int? {
    retryAfterMs.map { Int(max(1, ($0 + 999) / 1000)) }
  }

  public var body: [UInt8] {
    var json = JSONObjectWriter()
    json.string("error", code.rawValue)
    json.string("message", message)
    if let retryAfterMs { json.int("retryAfterMs", retryAfterMs) }
    if let upstreamMessage { json.string("upstreamMessage", upstreamMessage) }
    return json.finish()
  }
}

extension ServiceError {
  static func invalidBody(_ message: String) -> ServiceError {
    ServiceError(status: 400, code: .invalidBody, message: message)
  }

  /// A request whose framing RFC 9112 forbids (its connection closes).
  static func badRequest(_ problem: String) -> ServiceError {
    ServiceError(status: 400, code: .badRequest, message: problem)
  }

  static let invalidIdempotencyKey = ServiceError(
    status: 400, code: .invalidIdempotencyKey,
    message: "Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -")

  static let requestInProgress = ServiceError(
    status: 409, code: .requestInProgress,
    message: "a request with this Idempotency-Key is still in progress")

  static let idempotencyKeyReused = ServiceError(
    status: 422, code: .idempotencyKeyReused,
    message: "this Idempotency-Key was used with a different body")

  static let invalidUserID = ServiceError(
    status: 400, code: .invalidUserID,
    message: "user id must be 1-64 characters of A-Z a-z 0-9 _ . -")

  static func notFound(_ method: HTTPMethod, _ path: String) -> ServiceError {
    ServiceError(status: 404, code: .notFound, message: "no route for \(method.rawValue) \(path)")
  }

  static func userNotFound(_ id: String) -> ServiceError {
    ServiceError(status: 404, code: .userNotFound, message: "no user with id \(id)")
  }

  static func methodNotAllowed(_ route: RouteID, _ method: HTTPMethod) -> ServiceError {
    let name = method == .other ? "this method" : method.rawValue
    return ServiceError(
      status: 405, code: .methodNotAllowed,
      message: "\(route.rawValue) allows \(route.allowHeader), not \(name)",
      allow: route.allowHeader)
  }

  static func payloadTooLarge(size: Int, limit: Int) -> ServiceError {
    ServiceError(
      status: 413, code: .payloadTooLarge, message: "body is \(size) bytes; the limit is \(limit)")
  }

  /// The request's headers or body did not arrive in time (the
  /// connection closes).
  static let requestTimeout = ServiceError(
    status: 408, code: .requestTimeout,
    message: "the request did not arrive within CLIENT_HEADER_TIMEOUT_MS / CLIENT_BODY_TIMEOUT_MS")

  static func unsupportedMediaType(got contentType: String?) -> ServiceError {
    let got = contentType.map { "got \($0)" } ?? "no Content-Type header"
    return ServiceError(
      status: 415, code: .unsupportedMediaType,
      message: "Content-Type must be application/json (\(got))")
  }

  /// The upstream's own 4xx, with its message when it gave one.
  static func upstreamRejected(status: Int, upstreamMessage: String?) -> ServiceError {
    ServiceError(
      status: status, code: .upstreamRejected, message: "upstream answered \(status)",
      upstreamMessage: upstreamMessage)
  }

  /// A read the upstream could not answer: 502.
  static func upstreamUnavailable(_ message: String) -> ServiceError {
    ServiceError(status: 502, code: .upstreamUnavailable, message: message)
  }

  /// An event the upstream did not take: 503, since the same event may be
  /// sent again (with its idempotency key).
  static func writeFailed(_ message: String) -> ServiceError {
    ServiceError(status: 503, code: .upstreamUnavailable, message: message)
  }

  /// A read that failed for good: what the client is told depends on why.
  static func readFailed(_ failure: UpstreamFailure, _ context: String) -> ServiceError {
    switch failure {
    case .transport(.tooLarge): upstreamTooLarge("\(failure) \(context)")
    case .transport(.local): overloaded
    case .deadline: upstreamTimeout
    case .breakerOpen(let retryAfterMs): circuitOpen(retryAfterMs: retryAfterMs)
    default: upstreamUnavailable("\(failure) \(context) (after retries)")
    }
  }

  /// The request's deadline passed before an answer: 504.
  static let upstreamTimeout = ServiceError(
    status: 504, code: .upstreamTimeout,
    message: "no answer from the event API within REQUEST_TIMEOUT_MS")

  static func upstreamTooLarge(_ message: String) -> ServiceError {
    ServiceError(status: 502, code: .upstreamTooLarge, message: message)
  }

  /// Shed for lack of local resources; `Retry-After: 1`.
  static let overloaded = ServiceError(
    status: 503, code: .overloaded, message: "the service is out of capacity; retry shortly",
    retryAfterMs: 1_000)

  /// A keyed write while the shared key store (Redis) cannot answer: a key
  /// promises at most one event, which cannot be kept without the store.
  static func idempotencyStoreUnavailable(_ reason: String) -> ServiceError {
    ServiceError(
      status: 503, code: .idempotencyStoreUnavailable,
      message: "the idempotency key store cannot answer (\(reason)); nothing was sent",
      retryAfterMs: 1_000)
  }

  /// `/status/stream` has as many viewers as it serves.
  static func tooManyViewers(limit: Int) -> ServiceError {
    ServiceError(
      status: 503, code: .overloaded,
      message: "the status stream has its \(limit) viewers; retry shortly", retryAfterMs: 5_000)
  }

  /// `retryAfterMs` as a field, and `Retry-After` (whole seconds, rounded
  /// up) as a header.
  static func circuitOpen(retryAfterMs: Int64) -> ServiceError {
    ServiceError(
      status: 503, code: .circuitOpen, message: "the event API is failing; not calling it for now",
      retryAfterMs: retryAfterMs)
  }
}
