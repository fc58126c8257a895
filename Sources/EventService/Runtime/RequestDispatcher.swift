import Libevent
import Telemetry

/// Every client request's way in: its request id and trace, the exchange
/// that answers it, shedding (the memory budget, `MAX_INFLIGHT`), then the
/// router. The HTTP server hands it `ServerRequest`s; tests hand it
/// in-memory requests.
final class RequestDispatcher {
  private let context: ServiceContext
  private var requestIDs: RequestIDSource
  private var traceIDs = TraceIDGenerator()

  init(context: ServiceContext) {
    self.context = context
    var random = SystemRandomNumberGenerator()
    requestIDs = RequestIDSource(using: &random)
  }

  func dispatch(_ request: any InboundRequest) {
    let match = RouteID.match(path: request.path)
    let trace = request.withHeader("traceparent") {
      TraceContext(traceparent: $0, random: &traceIDs)
    }
    let exchange = Exchange(
      request: request, id: requestIDs.id(from: request.header("X-Request-Id")), trace: trace,
      route: match?.0, context: context)
    if let route = match?.0, !route.isOperational {
      // Shed at once while the memory budget is spent; probes always answer.
      guard context.budget.admitsNew(elsewhere: context.replyBytes) else {
        exchange.fail(.overloaded)
        return
      }
      // Admission (MAX_INFLIGHT): beyond it, shed at once.
      guard context.inflight < context.config.maxInflight else {
        context.metrics.recordShed()
        exchange.fail(.overloaded)
        return
      }
      context.inflight += 1
      exchange.admitted = true
    }
    Router(context: context).route(exchange, match: match)
  }
}
