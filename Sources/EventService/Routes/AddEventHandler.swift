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
    if context.idempotency != nil, let raw = request.header("Idempotency-Key") {
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
    // Made only when it may be used: a rejected request costs no id.
    var keyedID: String?
    if let key,
      let decision = context.idempotency?.begin(
        key: key, fingerprint: SHA256.hash(request.body), newEventID: EventID.make(),
        now: context.clock.nowMs)
    {
      switch decision {
      case .send(let eventID): keyedID = eventID
      case .replay(let eventID, let outcome):
        replay(outcome, eventID: eventID, exchange: exchange)
        return
      case .inProgress:
        exchange.fail(.requestInProgress)
        return
      case .bodyMismatch:
        exchange.fail(.idempotencyKeyReused)
        return
      }
    }
    let permit: BreakerPermit
    switch context.breaker.admit() {
    case .allow(let granted): permit = granted
    case .reject(let retryAfterMs):
      if let key { context.idempotency?.release(key: key) }
      exchange.attemptFailed(.breakerOpen)
      exchange.fail(.circuitOpen(retryAfterMs: retryAfterMs))
      return
    }
    let id = keyedID ?? EventID.make()
    let event = EventWithID.make(id: id, body: request.body, members: members)
    exchange.upstreamCalls += 1
    context.upstream.addEvent(event, for: exchange.caller) { result in
      let write = WriteResult(result)
      context.breaker.record(write.breakerOutcome, permit: permit)
      let outcome: IdempotencyStore.Ending
      switch write {
      case .stored:
        exchange.json(200, added(id))
        outcome = .stored
      case .reportedFailure:
        exchange.fail(.writeFailed("upstream reported \"success\": false"))
        outcome = .failed
      case .rejected(let response):
        let message = upstreamMessage(response.body)
        exchange.fail(.upstreamRejected(status: response.status, upstreamMessage: message))
        // Kept for a day: at most the first KiB of the upstream's text.
        let kept = ServiceError.upstreamRejected(
          status: response.status, upstreamMessage: message.map { prefix($0, bytes: 1_024) })
        outcome = .rejected(status: kept.status, body: kept.body)
      case .notSent:
        exchange.fail(.overloaded)
        if let key { context.idempotency?.release(key: key) }
        return
      case .failed(let failure):
        exchange.fail(.writeFailed(failure.description))
        outcome = .failed
      }
      if let key { context.idempotency?.finish(key: key, outcome: outcome) }
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
