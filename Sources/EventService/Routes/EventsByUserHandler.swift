import MiniJSON

/// GET /getEventsByUserId/:id: the user, then all of its events at once.
///
/// Each distinct event id is fetched once and every fetch is in flight at the
/// same time, so the answer takes one event delay however many events there
/// are. At the first fetch that fails for good, the rest are cancelled.
final class EventsByUserHandler {
  private let exchange: Exchange
  private let context: ServiceContext
  private var order: [String] = []
  private var bodies: [String: [UInt8]] = [:]
  private var pending: [String: UpstreamHandle] = [:]
  /// True while fetches are being started: a failure reported synchronously
  /// must not look like "all done".
  private var launching = false

  static func handle(_ exchange: Exchange, rawID: String, context: ServiceContext) {
    guard let id = UserIDValidation.decode(rawID) else {
      exchange.fail(.invalidUserID)
      return
    }
    EventsByUserHandler(exchange: exchange, context: context).start(userID: id)
  }

  private init(exchange: Exchange, context: ServiceContext) {
    self.exchange = exchange
    self.context = context
  }

  /// The handler keeps itself alive through the closures it hands out.
  private func start(userID: String) {
    exchange.upstreamCalls += 1
    _ = context.upstream.getUser(id: userID) { [self] result in
      switch result {
      case .success(let response):
        guard let ids = Self.eventIDs(in: response.body) else {
          exchange.fail(.upstreamUnavailable("upstream sent a user without an events list"))
          return
        }
        fetchAll(ids)
      case .answer(let response) where response.status == 404:
        exchange.fail(.userNotFound(userID))
      case .answer(let response):
        exchange.fail(.upstreamUnavailable("upstream answered \(response.status) for the user"))
      case .failure(let failure):
        exchange.fail(.upstreamUnavailable("\(failure) (after retries)"))
      }
    }
  }

  private func fetchAll(_ ids: [String]) {
    order = ids
    launching = true
    var seen = Set<String>()
    for id in ids where seen.insert(id).inserted && !exchange.isAnswered {
      exchange.upstreamCalls += 1
      pending[id] = context.upstream.getEvent(id: id) { [self] result in
        pending[id] = nil
        switch result {
        case .success(let response): bodies[id] = response.body
        case .answer: break  // an id the upstream does not know is left out
        case .failure(let failure):
          fail("\(failure) fetching event \(id) (after retries)")
          return
        }
        if pending.isEmpty && !launching { finish() }
      }
    }
    launching = false
    if pending.isEmpty && !exchange.isAnswered { finish() }
  }

  private func fail(_ message: String) {
    let others = pending.values
    pending.removeAll()
    for handle in others { handle.cancel() }
    exchange.fail(.upstreamUnavailable(message))
  }

  /// The events in the user's order; a repeated id appears again.
  private func finish() {
    var body: [UInt8] = [UInt8(ascii: "[")]
    var first = true
    for id in order {
      guard let event = bodies[id] else { continue }
      if !first { body.append(UInt8(ascii: ",")) }
      body += event
      first = false
    }
    body.append(UInt8(ascii: "]"))
    exchange.json(200, body)
  }

  /// The user's event ids (strings, or numbers taken as their text).
  static func eventIDs(in body: [UInt8]) -> [String]? {
    guard let user = try? JSONValue.parse(body), let events = user["events"]?.arrayValue else {
      return nil
    }
    return events.compactMap { $0.stringValue ?? $0.integerText }
  }
}
