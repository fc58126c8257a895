/// The life of one upstream GET, as a pure state machine: its attempts,
/// the backoff between them, the retry budget, the hedge of its first
/// attempt, and the request deadline that bounds them all. Events and the
/// time come in; what to send, arm, cancel and deliver goes out. It knows
/// neither HTTP nor the loop, and it is tested as a table on a virtual clock.
///
/// | phase | event | next phase | actions |
/// |---|---|---|---|
/// | idle | start | attempting(0) | send primary, arm hedge (hedged, delay known) |
/// | attempting | answered (either) | finished | cancel the other, deliver answer |
/// | attempting, hedge out | primary failed | hedgeOnly | — |
/// | attempting(0), hedge out | hedge failed | attempting(0), hedge spent | — |
/// | attempting, no hedge out / hedgeOnly | failed | backingOff(n+1) or finished | arm retry, or deliver failed(why) |
/// | attempting(0), hedge armed | hedge due | hedge in flight or spent | send hedge, or hedge refused |
/// | backingOff(n) | retry due | attempting(n) | send primary |
/// | any but finished | abandoned | finished | cancel what is out |
///
/// A retry is given up, in this order, when the failure would repeat or
/// retries are used up (`lastAttempt`), when its backoff would end at or
/// after the deadline (`deadline`), or when the budget refuses it
/// (`budgetRefused`). An attempt's own deadline is the smaller of
/// `attemptTimeoutMs` and the time left.
public struct FetchMachine: Sendable {
  public enum Phase: Sendable, Equatable {
    case idle
    /// Attempt `attempt` (0 is the first) in flight.
    case attempting(attempt: Int, hedge: HedgePhase)
    /// The first attempt failed while its hedge is still out.
    case hedgeOnly
    /// Waiting for the retry timer, which sends attempt `attempt`.
    case backingOff(attempt: Int)
    case finished
  }

  /// The hedge of the first attempt.
  public enum HedgePhase: Sendable, Equatable {
    /// Not hedged, or no delay known yet.
    case none
    /// Its timer is armed.
    case armed
    case inFlight
    /// Sent and failed, or refused by the budget.
    case spent
  }

  public private(set) var phase: Phase = .idle
  /// Whether the first attempt may be hedged: only then does an answer
  /// need the time (its latency sets later hedge delays).
  public let hedged: Bool
  /// Microseconds on the caller's clock; nil for none.
  public private(set) var deadlineUs: Int64?
  private var startedUs: Int64 = 0

  /// `hedged`: whether the first attempt may be hedged (event fetches with
  /// hedging on). `deadlineUs`: when the request that starts it must end.
  public init(hedged: Bool, deadlineUs: Int64?) {
    self.hedged = hedged
    self.deadlineUs = deadlineUs
  }

  /// Another request waits for this fetch too (coalesced): the fetch may
  /// go on until the later of the two deadlines.
  public mutating func extendDeadline(to other: Int64?) {
    guard let current = deadlineUs else { return }
    deadlineUs = other.map { max(current, $0) }
  }

  public mutating func start(nowUs: Int64, policy: inout FetchPolicy) -> FetchActions {
    guard phase == .idle else { return [] }
    let nowMs = nowUs / 1_000
    policy.budget.recordFirstAttempt(now: nowMs)
    var out = FetchActions()
    guard let timeout = attemptTimeout(nowUs: nowUs, policy: policy) else {
      phase = .finished
      out.append(.deliver(.failed(.deadline)))
      return out
    }
    out.append(.send(.primary, timeoutMs: timeout))
    var hedge = HedgePhase.none
    if hedged {
      startedUs = nowUs
      policy.hedgeBudget.recordFetch(now: nowMs)
      if let delay = policy.hedgeDelayMs {
        out.append(.armHedge(afterMs: delay))
        hedge = .armed
      }
    }
    phase = .attempting(attempt: 0, hedge: hedge)
    return out
  }

  public mutating func attemptEnded(
    _ attempt: FetchAttempt, _ result: AttemptResult, nowUs: Int64, policy: inout FetchPolicy
  ) -> FetchActions {
    switch (phase, attempt, result) {
    case (.attempting(_, let hedge), .primary, .answered):
      var out = FetchActions()
      if hedge == .armed { out.append(.cancelHedge) }
      if hedge == .inFlight { out.append(.cancel(.hedge)) }
      return answered(by: .primary, nowUs: nowUs, policy: &policy, out)
    case (.attempting(0, .inFlight), .hedge, .answered):
      return answered(by: .hedge, nowUs: nowUs, policy: &policy, [.cancel(.primary)])
    case (.hedgeOnly, .hedge, .answered):
      return answered(by: .hedge, nowUs: nowUs, policy: &policy, [])
    case (.attempting(0, .inFlight), .primary, .failed):
      phase = .hedgeOnly
      return []
    case (.attempting(0, .inFlight), .hedge, .failed):
      phase = .attempting(attempt: 0, hedge: .spent)
      return []
    case (.attempting(let number, let hedge), .primary, .failed(let retryable)):
      var out = FetchActions()
      if hedge == .armed { out.append(.cancelHedge) }
      return retryOrGiveUp(after: number, retryable: retryable, nowUs: nowUs, &policy, out)
    case (.hedgeOnly, .hedge, .failed(let retryable)):
      return retryOrGiveUp(after: 0, retryable: retryable, nowUs: nowUs, &policy, [])
    default:
      // A request the machine no longer waits for (cancelled, or the
      // fetch ended): nothing to do.
      return []
    }
  }

  public mutating func retryDue(nowUs: Int64, policy: inout FetchPolicy) -> FetchActions {
    guard case .backingOff(let number) = phase else { return [] }
    guard let timeout = attemptTimeout(nowUs: nowUs, policy: policy) else {
      phase = .finished
      return [.deliver(.failed(.deadline))]
    }
    phase = .attempting(attempt: number, hedge: .none)
    return [.send(.primary, timeoutMs: timeout)]
  }

  public mutating func hedgeDue(nowUs: Int64, policy: inout FetchPolicy) -> FetchActions {
    guard case .attempting(0, .armed) = phase else { return [] }
    guard policy.hedgeBudget.allowHedge(now: nowUs / 1_000),
      let timeout = attemptTimeout(nowUs: nowUs, policy: policy)
    else {
      phase = .attempting(attempt: 0, hedge: .spent)
      return [.hedgeRefused]
    }
    phase = .attempting(attempt: 0, hedge: .inFlight)
    return [.send(.hedge, timeoutMs: timeout)]
  }

  /// Everyone waiting left: whatever is out is called off.
  public mutating func abandoned() -> FetchActions {
    var out = FetchActions()
    switch phase {
    case .attempting(_, let hedge):
      out.append(.cancel(.primary))
      if hedge == .armed { out.append(.cancelHedge) }
      if hedge == .inFlight { out.append(.cancel(.hedge)) }
    case .hedgeOnly: out.append(.cancel(.hedge))
    case .backingOff: out.append(.cancelRetry)
    case .idle, .finished: break
    }
    phase = .finished
    return out
  }

  // MARK: -

  private mutating func answered(
    by attempt: FetchAttempt, nowUs: Int64, policy: inout FetchPolicy, _ actions: FetchActions
  ) -> FetchActions {
    if hedged { policy.eventLatency.record(nowUs - startedUs) }
    var out = actions
    out.append(.deliver(.answer(from: attempt)))
    phase = .finished
    return out
  }

  private mutating func retryOrGiveUp(
    after number: Int, retryable: Bool, nowUs: Int64, _ policy: inout FetchPolicy,
    _ actions: FetchActions
  ) -> FetchActions {
    var out = actions
    phase = .finished
    guard retryable, let delay = policy.backoff.delayMs(attempt: number, using: &policy.random)
    else {
      out.append(.deliver(.failed(.lastAttempt)))
      return out
    }
    if let deadlineUs, nowUs + delay * 1_000 >= deadlineUs {
      out.append(.deliver(.failed(.deadline)))
      return out
    }
    guard policy.budget.allowRetry(now: nowUs / 1_000) else {
      out.append(.deliver(.failed(.budgetRefused)))
      return out
    }
    phase = .backingOff(attempt: number + 1)
    out.append(.armRetry(afterMs: delay))
    return out
  }

  /// The smaller of the attempt timeout and the time left (rounded up to
  /// whole milliseconds); nil when no time is left.
  private func attemptTimeout(nowUs: Int64, policy: FetchPolicy) -> Int64? {
    guard let deadlineUs else { return policy.attemptTimeoutMs }
    let leftUs = deadlineUs - nowUs
    guard leftUs > 0 else { return nil }
    return min(policy.attemptTimeoutMs, (leftUs + 999) / 1_000)
  }
}
