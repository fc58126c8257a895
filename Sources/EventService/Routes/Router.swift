import Libevent
import MiniJSON
import Telemetry

/// Sends each request to its handler, or answers 404 / 405 itself.
struct Router {
  let context: ServiceContext

  func route(_ exchange: Exchange, match: (RouteID, parameter: String?)?) {
    let method = exchange.request.method
    guard let (route, parameter) = match else {
      exchange.fail(.notFound(method, exchange.request.path))
      return
    }
    guard route.allows(method) else {
      exchange.fail(.methodNotAllowed(route, method))
      return
    }
    if route != .addEvent && !route.isOperational {
      exchange.startDeadline()
      exchange.admitRead()
    }
    switch route {
    case .getUsers, .getEvents: PassThroughHandler.handle(exchange, route: route, context: context)
    case .getEventsByUserId:
      EventsByUserHandler.handle(exchange, rawID: parameter ?? "", context: context)
    case .addEvent: AddEventHandler.handle(exchange, context: context)
    case .health: health(exchange)
    case .ready:
      // Readiness, not liveness: a draining instance leaves the balancer's
      // rotation while it still answers what it is sent.
      if context.isDraining {
        exchange.json(503, Array(#"{"status":"draining"}"#.utf8))
      } else {
        exchange.json(200, Array(#"{"status":"ready"}"#.utf8))
      }
    case .metrics:
      exchange.send(
        200,
        context.metrics.render(
          tlsHandshakes: context.tlsHandshakes?(), inflight: context.inflight,
          connections: context.connectionUse()),
        contentType: "text/plain; version=0.0.4; charset=utf-8")
    case .openAPI:
      exchange.send(200, OpenAPIDocument.bytes, contentType: "application/yaml; charset=utf-8")
    case .status:
      exchange.request.addHeader("Cache-Control", "no-cache")
      // The page needs nothing from anywhere else, and may take nothing.
      exchange.request.addHeader(
        "Content-Security-Policy",
        "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
      )
      exchange.send(200, StatusPage.bytes, contentType: "text/html; charset=utf-8")
    case .statusStream: follow(exchange)
    }
  }

  /// `/status/stream`: a snapshot now, then one a second and one on every
  /// breaker transition, until the client leaves or the service stops.
  private func follow(_ exchange: Exchange) {
    guard context.status.hasRoom else {
      exchange.fail(.tooManyViewers(limit: StatusBoard.maxViewers))
      return
    }
    let viewer = StatusViewer(exchange: exchange, board: context.status)
    guard exchange.openEventStream(notify: viewer) else { return }
    context.status.add(viewer)
  }

  private func health(_ exchange: Exchange) {
    var json = JSONObjectWriter()
    json.string("status", "ok")
    json.string("upstream", context.config.upstreamIsEmbeddedMock ? "embedded-mock" : "api-base")
    Self.write(context.breaker.snapshot, as: "breaker", to: &json)
    if let read = context.readBreaker {
      Self.write(read.snapshot, as: "readBreaker", to: &json)
    }
    let budget = context.upstream.retryBudget
    json.openObject("retryBudget")
    json.int("windowMs", context.config.retryBudget.windowMs)
    json.int("firstAttempts", Int64(budget.firstAttempts))
    json.int("retries", Int64(budget.retries))
    json.int("available", Int64(budget.available))
    json.closeObject()
    if let store = context.keys?.health {
      json.openObject("idempotencyStore")
      json.string("kind", store.kind)
      json.string("state", store.state)
      if let error = store.lastError { json.string("lastError", error) }
      json.closeObject()
    }
    exchange.json(200, json.finish())
  }

  private static func write(
    _ breaker: BreakerGuard.Snapshot, as name: StaticString, to json: inout JSONObjectWriter
  ) {
    json.openObject(name)
    json.string("state", breaker.state.rawValue)
    json.int("failuresInWindow", Int64(breaker.failuresInWindow))
    if let retryAfterMs = breaker.retryAfterMs {
      json.int("retryAfterMs", retryAfterMs)
    } else {
      json.null("retryAfterMs")
    }
    json.closeObject()
  }
}
