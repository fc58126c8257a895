import Telemetry
import UpstreamAccess

/// GET /getUsers and GET /getEvents: the upstream's array, passed through
/// (or a kept answer, when the upstream cannot give one in time).
final class PassThroughHandler: CancellableWork {
  private let exchange: Exchange
  private let route: UpstreamRoute
  private let context: ServiceContext
  @exclusivity(unchecked) private var fetch: UpstreamHandle?

  static func handle(_ exchange: Exchange, route: RouteID, context: ServiceContext) {
    let handler = PassThroughHandler(
      exchange: exchange, route: route == .getUsers ? .getUsers : .getEvents, context: context)
    handler.start()
  }

  private init(exchange: Exchange, route: UpstreamRoute, context: ServiceContext) {
    self.exchange = exchange
    self.route = route
    self.context = context
  }

  /// The handler keeps itself alive through the closure it hands out.
  private func start() {
    exchange.upstreamCalls += 1
    let completion = { [self] (result: UpstreamResult) in
      fetch = nil
      exchange.note(result)
      switch result {
      case .success(let response): exchange.json(200, response.body)
      case .refused(let response):
        exchange.fail(.upstreamUnavailable("upstream answered \(response.status)"))
      case .failure(let failure): exchange.fail(.readFailed(failure, "for \(route.rawValue)"))
      }
    }
    let handle =
      route == .getUsers
      ? context.upstream.getUsers(for: exchange.caller, completion)
      : context.upstream.getEvents(for: exchange.caller, completion)
    // A kept answer may have answered already.
    guard !exchange.isAnswered else { return }
    fetch = handle
    exchange.cancelOnClientGone(self)
  }

  func cancel() {
    fetch?.cancel()
    fetch = nil
  }

  func answerAtDeadline() -> Bool {
    guard let kept = context.upstream.staleAnswer(route) else { return false }
    exchange.note(.success(kept))
    exchange.json(200, kept.body)
    return true
  }
}
