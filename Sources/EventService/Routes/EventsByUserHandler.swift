import MiniJSON
import UpstreamAccess

/// GET /getEventsByUserId/:id: the user, then all of its events at once.
///
/// Each distinct event id is fetched once and every fetch is in flight at the
/// same time (or `FANOUT_CONCURRENCY` at a time, in the user's order), so the
/// answer takes one event delay however many events there are. At the first
/// fetch that fails for good, the rest are cancelled.
final class EventsByUserHandler: CancellableWork {
  private let exchange: Exchange
  private let context: ServiceContext
  /// The user's event ids, each once, in first-seen order; `order` holds a
  /// position in `unique` for every entry of the user's list. Bodies and
  /// fetches are found by that position: no id is hashed per answer.
  private var unique: [String] = []
  private var order: [Int] = []
  private var bodies: [[UInt8]?] = []
  /// Per position: its fetch ended with an answer (an event, or the
  /// upstream's 404), or it was never to be fetched.
  private var settled: [Bool] = []
  private var userID = ""
  private var userFetch: UpstreamHandle?
  /// The user's lookup has ended (its list may have come from a kept answer).
  private var userDone = false
  private var pending: [UpstreamHandle?] = []
  private var pendingCount = 0
  /// Bytes of the distinct events received: the reply holds each at least
  /// once, so past the limit it can only be too large.
  private var receivedBytes = 0
  /// True while fetches are being started: a failure reported synchronously
  /// must not look like "all done".
  private var launching = false
  /// The next position in `unique` to fetch.
  private var nextToStart = 0

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
    self.userID = userID
    exchange.upstreamCalls += 1
    let handle = context.upstream.getUser(id: userID, for: exchange.caller) { [self] result in
      userFetch = nil
      userDone = true
      exchange.note(result)
      switch result {
      case .success(let response):
        guard let ids = userEventIDs(response) else { return }
        fetchAll(ids)
      case .refused(let response) where response.status == 404:
        exchange.fail(.userNotFound(userID))
      case .refused(let response):
        exchange.fail(.upstreamUnavailable("upstream answered \(response.status) for the user"))
      case .failure(let failure):
        exchange.fail(.readFailed(failure, "for the user"))
      }
    }
    // Kept answers may have answered already.
    guard !exchange.isAnswered else { return }
    if !userDone { userFetch = handle }
    // Held by the exchange until the request is answered.
    exchange.cancelOnClientGone(self)
  }

  /// The user's event ids, or nil with the request answered: no list, or
  /// one over `MAX_EVENTS_PER_USER`.
  private func userEventIDs(_ user: UpstreamResponse) -> [String]? {
    guard let ids = user.json.flatMap(Self.eventIDs) else {
      exchange.fail(.upstreamUnavailable("upstream sent a user without an events list"))
      return nil
    }
    guard ids.count <= context.config.maxEventsPerUser else {
      exchange.fail(
        .upstreamTooLarge(
          "the user lists \(ids.count) events; MAX_EVENTS_PER_USER is \(context.config.maxEventsPerUser)"
        ))
      return nil
    }
    return ids
  }

  private func fetchAll(_ ids: [String]) {
    prepare(ids)
    startMore()
  }

  private func prepare(_ ids: [String]) {
    (unique, order) = Self.deduplicated(ids)
    bodies = Array(repeating: nil, count: unique.count)
    settled = Array(repeating: false, count: unique.count)
    pending = Array(repeating: nil, count: unique.count)
  }

  /// Starts fetches in the user's order while `FANOUT_CONCURRENCY` allows
  /// (all at once when it is 0); answers once every one has ended.
  private func startMore() {
    guard !launching else { return }
    launching = true
    let limit = context.config.fanoutConcurrency
    while nextToStart < unique.count && !exchange.isAnswered
      && (limit == 0 || pendingCount < limit)
    {
      let slot = nextToStart
      nextToStart += 1
      start(slot)
    }
    launching = false
    if pendingCount == 0 && nextToStart == unique.count && !exchange.isAnswered { finish() }
  }

  private func start(_ slot: Int) {
    let id = unique[slot]
    // Never requested: as a path segment it would be no segment or a
    // dot-segment. Left out like an id the upstream does not know.
    if id.isEmpty || UserIDValidation.isDotSegment(id) {
      context.logger.warning(
        "event id not requested: empty or a dot-segment",
        metadata: ["request_id": .string(exchange.id), "event_id": .string(id)])
      settled[slot] = true
      return
    }
    exchange.upstreamCalls += 1
    pendingCount += 1
    pending[slot] = context.upstream.getEvent(id: id, for: exchange.caller) { [self] result in
      pending[slot] = nil
      pendingCount -= 1
      exchange.note(result)
      switch result {
      case .success(let response):
        receivedBytes += response.body.count
        if receivedBytes > context.config.maxUpstreamBodyBytes {
          fail(.upstreamTooLarge(Self.tooLarge(context.config.maxUpstreamBodyBytes)))
          return
        }
        guard exchange.hold(response.body.count) else {
          fail(.overloaded)
          return
        }
        bodies[slot] = response.body
        settled[slot] = true
      case .refused: settled[slot] = true  // an id the upstream does not know is left out
      case .failure(let failure):
        fail(.readFailed(failure, "fetching event \(id)"))
        return
      }
      startMore()
    }
  }

  /// Each id once, and for every entry of `ids` the position of its id.
  static func deduplicated(_ ids: [String]) -> (unique: [String], order: [Int]) {
    var unique: [String] = []
    var order: [Int] = []
    order.reserveCapacity(ids.count)
    // A few ids are compared directly; hashing pays from a few dozen on.
    var positions: [String: Int]? = ids.count > 32 ? [:] : nil
    for id in ids {
      let known = positions.map { $0[id] } ?? unique.firstIndex(of: id)
      if let known {
        order.append(known)
      } else {
        order.append(unique.count)
        positions?[id] = unique.count
        unique.append(id)
      }
    }
    return (unique, order)
  }

  private func fail(_ error: ServiceError) {
    cancelAll()
    exchange.fail(error)
  }

  /// The client left, or the deadline passed: every fetch still in flight stops.
  func cancel() { cancelAll() }

  /// At the deadline: the reply built from kept answers for every part not
  /// yet received (the user's list too, if it has not come), if there is
  /// one younger than `STALE_IF_ERROR_MS` for each.
  func answerAtDeadline() -> Bool {
    if !userDone {
      userDone = true
      guard let user = context.upstream.staleAnswer(.getUserById, id: userID) else { return false }
      exchange.note(.success(user))
      guard let ids = userEventIDs(user) else { return true }
      prepare(ids)
    }
    var kept: [(slot: Int, event: UpstreamResponse)] = []
    for slot in unique.indices where !settled[slot] {
      guard let event = context.upstream.staleAnswer(.getEventById, id: unique[slot]) else {
        return false
      }
      kept.append((slot, event))
    }
    for (slot, event) in kept {
      guard exchange.hold(event.body.count) else {
        exchange.fail(.overloaded)
        return true
      }
      exchange.note(.success(event))
      bodies[slot] = event.body
    }
    finish()
    return true
  }

  /// Cancels every fetch still in flight (a coalesced one others wait for
  /// goes on for them).
  private func cancelAll() {
    let others = pending.compactMap { $0 } + (userFetch.map { [$0] } ?? [])
    // Emptied slot by slot, not removed: a fetch that failed synchronously
    // still has its slot written by the loop that started it.
    for slot in pending.indices { pending[slot] = nil }
    pendingCount = 0
    nextToStart = unique.count
    userFetch = nil
    for handle in others { handle.cancel() }
  }

  private static func tooLarge(_ limit: Int) -> String {
    "the user's events come to more than MAX_UPSTREAM_BODY_BYTES (\(limit))"
  }

  /// The events in the user's order; a repeated id appears again.
  private func finish() {
    // Counted before anything is built: one event repeated ten thousand
    // times makes a reply far larger than the bodies fetched.
    var size = 1
    bodies.withUnsafeBufferPointer { bodies in
      for slot in order { size += (bodies[slot]?.count ?? -1) + 1 }
    }
    size = max(2, size)
    guard size <= context.config.maxUpstreamBodyBytes else {
      exchange.fail(.upstreamTooLarge(Self.tooLarge(context.config.maxUpstreamBodyBytes)))
      return
    }
    var body: [UInt8] = [UInt8(ascii: "[")]
    body.reserveCapacity(size)
    var first = true
    for slot in order {
      guard let event = bodies[slot] else { continue }
      if !first { body.append(UInt8(ascii: ",")) }
      body += event
      first = false
    }
    body.append(UInt8(ascii: "]"))
    exchange.json(200, body)
  }

  /// The user's event ids (strings, or numbers taken as their text).
  static func eventIDs(in user: JSONValue) -> [String]? {
    guard let events = user["events"]?.arrayValue else { return nil }
    return events.compactMap { $0.stringValue ?? $0.integerText }
  }
}
