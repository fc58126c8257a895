import Libevent
import Logging
import MiniJSON

/// One request as the service handles it: the inbound request, its request
/// id, its timing, and the one way to answer it (which also logs the request
/// line and records its metrics).
final class Exchange {
  let request: ServerRequest
  let id: String
  let routeLabel: String
  private let startNs: UInt64
  private let context: ServiceContext
  var upstreamCalls = 0

  init(request: ServerRequest, id: String, routeLabel: String, context: ServiceContext) {
    self.request = request
    self.id = id
    self.routeLabel = routeLabel
    self.context = context
    startNs = MonotonicClock.nowNs()
  }

  var isAnswered: Bool { request.hasResponded }

  func json(_ status: Int, _ body: [UInt8], headers: [(String, String)] = []) {
    send(status, body, contentType: "application/json; charset=utf-8", headers: headers)
  }

  func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) {
    json(status, value.bytes, headers: headers)
  }

  /// `{"error": code, "message": text}` plus any extra fields.
  func error(
    _ status: Int, _ code: String, _ message: String, extra: [(String, JSONValue)] = [],
    headers: [(String, String)] = []
  ) {
    json(
      status, .object([("error", .string(code)), ("message", .string(message))] + extra),
      headers: headers)
  }

  func send(_ status: Int, _ body: [UInt8], contentType: String, headers: [(String, String)] = []) {
    guard !request.hasResponded else { return }
    request.respond(
      status: status, headers: [("Content-Type", contentType), ("X-Request-Id", id)] + headers,
      body: body)
    let elapsedNs = MonotonicClock.nowNs() - startNs
    context.metrics.recordRequest(route: routeLabel, status: status, nanoseconds: Int64(elapsedNs))
    context.logger.info(
      "request",
      metadata: [
        "id": .string(id), "method": .string(request.method.rawValue),
        "path": .string(request.path),
        "status": .stringConvertible(status), "duration_ms": .string(Self.milliseconds(elapsedNs)),
        "upstream_calls": .stringConvertible(upstreamCalls),
      ])
  }

  private static func milliseconds(_ ns: UInt64) -> String {
    let tenths = ns / 100_000
    return "\(tenths / 10).\(tenths % 10)"
  }
}
