import MiniJSON
import Resilience

/// POST /addEvent: validate, ask the breaker, give the event a unique id,
/// send it upstream once, and tell the breaker how it went.
enum AddEventHandler {
  static func handle(_ exchange: Exchange, context: ServiceContext) {
    let request = exchange.request
    let members: [(String, JSONValue)]
    let validation = request.withHeader("Content-Type") {
      AddEventValidation.validate(
        contentType: $0, body: request.body, maxBodyBytes: context.config.maxBodyBytes)
    }
    switch validation {
    case .success(let valid): members = valid
    case .failure(let rejection):
      exchange.fail(rejection)
      return
    }
    let permit: BreakerPermit
    switch context.breaker.admit() {
    case .allow(let granted): permit = granted
    case .reject(let retryAfterMs):
      exchange.fail(.circuitOpen(retryAfterMs: retryAfterMs))
      return
    }
    let id = EventID.make()
    let event = EventWithID.make(id: id, body: request.body, members: members)
    exchange.upstreamCalls += 1
    context.upstream.addEvent(event, for: exchange.caller) { result in
      switch result {
      case .success(let response) where !reportsFailure(response.body):
        context.breaker.record(.success, permit: permit)
        var json = JSONObjectWriter()
        json.bool("success", true)
        json.string("id", id)
        exchange.json(200, json.finish())
      case .success:
        context.breaker.record(.failure, permit: permit)
        exchange.fail(.upstreamUnavailable("upstream reported \"success\": false", status: 503))
      case .answer(let response):
        context.breaker.record(.neutral, permit: permit)
        exchange.fail(
          .upstreamRejected(
            status: response.status, upstreamMessage: upstreamMessage(response.body)))
      case .failure(let failure):
        context.breaker.record(.failure, permit: permit)
        exchange.fail(.upstreamUnavailable(failure.description, status: 503))
      }
    }
  }

  /// A 2xx whose body says `"success": false` is a failure in disguise.
  static func reportsFailure(_ body: [UInt8]) -> Bool {
    guard let value = try? JSONValue.parse(body) else { return false }
    return value["success"] == .bool(false)
  }

  /// The upstream's own error text, when it gave one, for the client's benefit.
  private static func upstreamMessage(_ body: [UInt8]) -> String? {
    guard let value = try? JSONValue.parse(body), case .object = value else { return nil }
    return value["message"]?.stringValue ?? value["error"]?.stringValue
  }
}
