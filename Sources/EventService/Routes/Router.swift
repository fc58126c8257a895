import Libevent
import MiniJSON

/// Sends each request to its handler, or answers 404 / 405 itself.
struct Router {
  let context: ServiceContext

  func route(_ exchange: Exchange, match: (RouteID, parameter: String?)?) {
    let method = exchange.request.method
    guard let (route, parameter) = match else {
      exchange.fail(.notFound(method, exchange.request.path))
      return
    }
    guard route.methods.contains(method) else {
      exchange.fail(.methodNotAllowed(route, method))
      return
    }
    switch route {
    case .getUsers, .getEvents: PassThroughHandler.handle(exchange, route: route, context: context)
    case .getEventsByUserId:
      EventsByUserHandler.handle(exchange, rawID: parameter ?? "", context: context)
    case .addEvent: AddEventHandler.handle(exchange, context: context)
    case .health: health(exchange)
    case .metrics:
      exchange.send(
        200, context.metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
  }

  private func health(_ exchange: Exchange) {
    let breaker = context.breaker.snapshot
    let retryAfter: JSONValue = breaker.retryAfterMs.map { .number(String($0)) } ?? .null
    exchange.json(
      200,
      .object([
        ("status", .string("ok")),
        (
          "breaker",
          .object([
            ("state", .string(breaker.state.rawValue)),
            ("failuresInWindow", .int(breaker.failuresInWindow)),
            ("retryAfterMs", retryAfter),
          ])
        ),
      ]))
  }
}
