import IdempotencyKeys
import Libevent
import MiniJSON
import Resilience
import Telemetry
import UpstreamAccess

/// POST /addEvent: check the idempotency key's syntax, validate, look the
/// key up (replay, 409, 422), ask the breaker, give the event its id (a new
/// one, or the key's), send it upstream once, and record how it went — in
/// the breaker and under the key.
enum AddEventHandler {
  static func handle(_ exchange: Exchange, context: ServiceContext) {
    let request = exchange.request
    var key: String?
    if context.keys != nil, let raw = request.header("Idempotency-Key") {
      guard TokenCharacters.requestID.matches(raw, length: 1...128) else {
        exchange.fail(.invalidIdempotencyKey)
        return
      }
      key = raw
    }
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
    guard exchange.hold(request.body.count) else {
      exchange.fail(.overloaded)
      return
    }
    guard let key, let keys = context.keys else {
      send(exchange, members: members, id: nil, ticket: nil, context: context)
      return
    }
    // The key's record is made (or found) before anything goes upstream.
    keys.begin(
      key: key, fingerprint: SHA256.hash(request.body), newEventID: EventID.make()
    ) { decision in
      guard !exchange.isAnswered else {
        // The client left while the store answered: nothing was sent.
        if case .send(_, let ticket) = decision { keys.release(ticket) }
        return
      }
      switch decision {
      case .send(let eventID, let ticket):
        send(exchange, members: members, id: eventID, ticket: ticket, context: context)
      case .replay(let eventID, let outcome):
        replay(outcome, eventID: eventID, exchange: exchange)
      case .inProgress: exchange.fail(.requestInProgress)
      case .bodyMismatch: exchange.fail(.idempotencyKeyReused)
      case .unavailable(let reason): exchange.fail(.idempotencyStoreUnavailable(reason))
      }
    }
  }

  /// Asks the breaker, sends the event once, and records how it went — in
  /// the breaker and, for a keyed request, under its key.
  private static func send(
    _ exchange: Exchange, members: [(String, JSONValue)], id keyedID: String?,
    ticket: KeyTicket?, context: ServiceContext
  ) {
    let permit: BreakerPermit
    switch context.breaker.admit() {
    case .allow(let granted): permit = granted
    case .reject(let retryAfterMs):
      if let ticket { context.keys?.release(ticket) }
      exchange.attemptFailed(.breakerOpen)
      exchange.fail(.circuitOpen(retryAfterMs: retryAfterMs))
      return
    }
    // Made only when it may be used: a refused request costs no id.
    let id = keyedID ?? EventID.make()
    let event = EventWithID.make(id: id, body: exchange.request.body, members: members)
    exchange.upstreamCalls += 1
    context.upstream.addEvent(event, for: exchange.caller) { result in
      let write = WriteResult(result)
      context.breaker.record(write.breakerOutcome, permit: permit)
      let answer: () -> Void
      let outcome: IdempotencyStore.Ending
      switch write {
      case .stored:
        answer = { exchange.json(200, added(id)) }
        outcome = .stored
      case .reportedFailure:
        answer = { exchange.fail(.writeFailed("upstream reported \"success\": false")) }
        outcome = .failed
      case .rejected(let response):
        let message = upstreamMessage(response.body)
        answer = {
          exchange.fail(.upstreamRejected(status: response.status, upstreamMessage: message))
        }
        // Kept for a day: at most the first KiB of the upstream's text.
        let kept = ServiceError.upstreamRejected(
          status: response.status, upstreamMessage: message.map { prefix($0, bytes: 1_024) })
        outcome = .rejected(status: kept.status, body: kept.body)
      case .notSent:
        if let ticket { context.keys?.release(ticket) }
        exchange.fail(.overloaded)
        return
      case .failed(let failure):
        answer = { exchange.fail(.writeFailed(failure.description)) }
        outcome = .failed
      }
      // Recorded under the key first: a retry anywhere then finds it.
      if let ticket, let keys = context.keys {
        keys.finish(ticket, outcome: outcome, then: answer)
      } else {
        answer()
      }
    }
  }

  /// The answer a key's earlier request got, again, without an upstream call.
  private static func replay(
    _ outcome: IdempotencyStore.Ending, eventID: String, exchange: Exchange
  ) {
    exchange.request.addHeader("Idempotent-Replayed", "true")
    switch outcome {
    case .stored: exchange.json(200, added(eventID))
    case .rejected(let status, let body): exchange.json(status, body)
    case .failed: exchange.fail(.writeFailed("upstream failed"))
    }
  }

  static func added(_ id: String) -> [UInt8] {
    var json = JSONObjectWriter()
    json.bool("success", true)
    json.string("id", id)
    return json.finish()
  }

  /// At most `bytes` bytes of `text`, cut at a character boundary.
  static func prefix(_ text: String, bytes: Int) -> String {
    let utf8 = Array(text.utf8)
    guard utf8.count > bytes else { return text }
    var end = bytes
    // Back to the first byte of the character that would be cut.
    while end > 0 && utf8[end] & 0xC0 == 0x80 { end -= 1 }
    return String(decoding: utf8[..<end], as: UTF8.self)
  }

  /// The upstream's own error text, when it gave one, for the client's benefit.
  private static func upstreamMessage(_ body: [UInt8]) -> String? {
    guard let value = try? JSONValue.parse(body), case .object = value else { return nil }
    return value["message"]?.stringValue ?? value["error"]?.stringValue
  }
}
