/// GET /getUsers and GET /getEvents: the upstream's array, passed through.
enum PassThroughHandler {
  static func handle(_ exchange: Exchange, route: RouteID, context: ServiceContext) {
    exchange.upstreamCalls += 1
    let completion = { (result: UpstreamResult) in
      switch result {
      case .success(let response): exchange.json(200, response.body)
      case .refused(let response):
        exchange.fail(.upstreamUnavailable("upstream answered \(response.status)"))
      case .failure(let failure): exchange.fail(.readFailed(failure, "for \(route.rawValue)"))
      }
    }
    let fetch =
      route == .getUsers
      ? context.upstream.getUsers(for: exchange.caller, completion)
      : context.upstream.getEvents(for: exchange.caller, completion)
    exchange.cancelOnClientGone(fetch)
  }
}
