/// The circuit breaker as a pure state machine: no clock, no timer, no I/O.
/// Time comes in as `now` (milliseconds on any monotonic scale); decisions
/// and transitions come out. The owner arms one timer for `openUntilMs`
/// whenever a transition enters OPEN, and calls `deadlineReached` when it fires.
///
/// Two-step use: `admit(now:)` before the call, `record(_:permit:now:)` after.
/// Every transition changes the generation, so an outcome that arrives after
/// the breaker has moved on changes nothing (`record` returns `.stale`).
public struct CircuitBreaker: Sendable {
  public let settings: BreakerSettings
  public private(set) var state: BreakerState = .closed
  public private(set) var generation: UInt64 = 0
  /// Failure times in CLOSED, oldest first.
  private var failures: [Int64] = []
  /// The one deadline of the current OPEN period.
  public private(set) var openUntilMs: Int64?
  private var currentBackoffMs: Int64
  /// When the probe went out, while one is out (HALF_OPEN only).
  private var probeStartedMs: Int64?

  public init(settings: BreakerSettings) {
    self.settings = settings
    currentBackoffMs = settings.backoffMs
  }

  public enum RecordResult: Sendable, Equatable {
    case counted(BreakerTransition?)
    /// The permit belongs to an earlier generation; nothing changed.
    case stale
  }

  /// Asks to make a call now. Reaching OPEN's deadline here moves the breaker
  /// to HALF_OPEN just as the timer would (whichever comes first).
  public mutating func admit(now: Int64) -> (BreakerDecision, BreakerTransition?) {
    var transition: BreakerTransition?
    if state == .open, let until = openUntilMs, now >= until {
      transition = deadlineReached(now: now)
    }
    switch state {
    case .closed:
      return (.allow(BreakerPermit(generation: generation, isProbe: false)), transition)
    case .open:
      return (.reject(retryAfterMs: retryAfterMs(now: now) ?? 0), transition)
    case .halfOpen:
      if probeStartedMs != nil {
        return (.reject(retryAfterMs: retryAfterMs(now: now) ?? 0), transition)
      }
      probeStartedMs = now
      return (.allow(BreakerPermit(generation: generation, isProbe: true)), transition)
    }
  }

  /// Reports how an admitted call ended.
  public mutating func record(_ outcome: BreakerOutcome, permit: BreakerPermit, now: Int64)
    -> RecordResult
  {
    guard permit.generation == generation else { return .stale }
    switch (state, outcome) {
    case (.closed, .failure):
      failures.append(now)
      prune(now: now)
      guard failures.count >= settings.failureThreshold else { return .counted(nil) }
      return .counted(open(now: now, from: .closed, reason: .failureThreshold))
    case (.closed, _):
      return .counted(nil)
    case (.halfOpen, .success):
      return .counted(close(now: now))
    case (.halfOpen, .failure):
      let next = Double(currentBackoffMs) * settings.backoffMultiplier
      currentBackoffMs = min(settings.backoffMaxMs, Int64(next.rounded(.up)))
      return .counted(open(now: now, from: .halfOpen, reason: .probeFailed))
    case (.halfOpen, .neutral):
      probeStartedMs = nil
      return .counted(nil)
    case (.open, _):
      return .stale
    }
  }

  /// The owner's timer fired: OPEN → HALF_OPEN. Does nothing in other states.
  @discardableResult
  public mutating func deadlineReached(now: Int64) -> BreakerTransition? {
    guard state == .open else { return nil }
    return move(to: .halfOpen, reason: .backoffElapsed, now: now)
  }

  /// Failures that currently count toward opening (CLOSED), or that opened it.
  public func failuresInWindow(now: Int64) -> Int {
    failures.count { now - $0 < settings.failureWindowMs }
  }

  /// How long a rejected caller should wait: what is left of OPEN, or of the
  /// probe's time in HALF_OPEN; 0 in HALF_OPEN with the probe slot free; nil in CLOSED.
  public func retryAfterMs(now: Int64) -> Int64? {
    switch state {
    case .closed: return nil
    case .open: return max(0, (openUntilMs ?? now) - now)
    case .halfOpen:
      guard let started = probeStartedMs else { return 0 }
      return max(1, started + settings.probeTimeoutMs - now)
    }
  }

  // MARK: - Transitions

  private mutating func open(now: Int64, from: BreakerState, reason: BreakerTransition.Reason)
    -> BreakerTransition
  {
    openUntilMs = now + currentBackoffMs
    return move(to: .open, reason: reason, now: now)
  }

  private mutating func close(now: Int64) -> BreakerTransition {
    let transition = move(to: .closed, reason: .probeSucceeded, now: now)
    failures.removeAll()
    currentBackoffMs = settings.backoffMs
    return transition
  }

  private mutating func move(to next: BreakerState, reason: BreakerTransition.Reason, now: Int64)
    -> BreakerTransition
  {
    let transition = BreakerTransition(
      from: state, to: next, reason: reason, failuresInWindow: failuresInWindow(now: now),
      atMs: now,
      openUntilMs: next == .open ? openUntilMs : nil)
    state = next
    generation &+= 1
    probeStartedMs = nil
    if next != .open { openUntilMs = nil }
    return transition
  }

  private mutating func prune(now: Int64) {
    failures.removeAll { now - $0 >= settings.failureWindowMs }
  }
}
