import Libevent
import Logging
import MiniJSON

/// One request as the service handles it: the inbound request, its request
/// id, its timing, and the one way to answer it (which also logs the request
/// line and records its metrics).
final class Exchange {
  let request: ServerRequest
  let id: String
  /// The matched route, or nil.
  let route: RouteID?
  private let startNs: UInt64
  private let context: ServiceContext
  var upstreamCalls = 0

  init(request: ServerRequest, id: String, route: RouteID?, context: ServiceContext) {
    self.request = request
    self.id = id
    self.route = route
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

  /// The error's JSON shape, with its headers.
  func fail(_ error: ServiceError) {
    json(error.status, error.json, headers: error.headers)
  }

  func send(_ status: Int, _ body: [UInt8], contentType: String, headers: [(String, String)] = []) {
    guard !request.hasResponded else { return }
    request.respond(
      status: status, headers: [("Content-Type", contentType), ("X-Request-Id", id)] + headers,
      body: body)
    let elapsedNs = MonotonicClock.nowNs() - startNs
    context.metrics.recordRequest(route: route, status: status, nanoseconds: Int64(elapsedNs))
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
