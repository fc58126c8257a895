/// GET /getUsers and GET /getEvents: the upstream's array, passed through.
enum PassThroughHandler {
  static func handle(_ exchange: Exchange, route: RouteID, context: ServiceContext) {
    exchange.upstreamCalls += 1
    let completion = { (result: UpstreamResult) in
      switch result {
      case .success(let response): exchange.json(200, response.body)
      case .answer(let response):
        UpstreamErrors.unavailable(exchange, "upstream answered \(response.status)")
      case .failure(let failure): UpstreamErrors.unavailable(exchange, "\(failure) (after retries)")
      }
    }
    _ =
      route == .getUsers
      ? context.upstream.getUsers(completion) : context.upstream.getEvents(completion)
  }
}

enum UpstreamErrors {
  static func unavailable(_ exchange: Exchange, _ message: String, status: Int = 502) {
    exchange.error(status, "upstream_unavailable", message)
  }
}
