import Libevent
import Logging
import Resilience
import Telemetry

/// The circuit breaker on the loop: the pure `CircuitBreaker` plus the one
/// timer that ends OPEN, transition logging and metrics. The OPEN deadline
/// computed by the machine feeds the timer, `Retry-After` and /health alike.
final class BreakerGuard {
  private var machine: CircuitBreaker
  /// The loop in the service; a `ManualScheduler` in tests.
  private let clock: any Scheduler
  private let logger: Logger
  private let metrics: ServiceMetrics
  private var timer: (any ScheduledTimer)!
  let name: BreakerName
  /// Told of every transition (the status view).
  var onTransition: ((BreakerTransition) -> Void)?

  init(
    _ name: BreakerName = .write, settings: BreakerSettings, clock: any Scheduler, logger: Logger,
    metrics: ServiceMetrics
  ) {
    self.name = name
    metrics.register(breaker: name)
    machine = CircuitBreaker(settings: settings)
    self.clock = clock
    self.logger = logger
    self.metrics = metrics
    timer = clock.makeTimer { [weak self] in
      guard let self else { return }
      self.apply(self.machine.deadlineReached(now: self.clock.nowMs))
    }
  }

  deinit { timer.cancel() }

  func admit() -> BreakerDecision {
    let (decision, transition) = machine.admit(now: clock.nowMs)
    apply(transition)
    if case .reject = decision { metrics.recordShortCircuit(breaker: name) }
    return decision
  }

  func record(_ outcome: BreakerOutcome, permit: BreakerPermit) {
    switch machine.record(outcome, permit: permit, now: clock.nowMs) {
    case .counted(let transition): apply(transition)
    case .stale: metrics.recordLateOutcome()
    }
  }

  struct Snapshot {
    let state: BreakerState
    let failuresInWindow: Int
    let retryAfterMs: Int64?
  }

  var snapshot: Snapshot {
    let now = clock.nowMs
    return Snapshot(
      state: machine.state, failuresInWindow: machine.failuresInWindow(now: now),
      retryAfterMs: machine.retryAfterMs(now: now))
  }

  /// Stops the timer so it does not keep the loop alive during shutdown.
  func stop() { timer.cancel() }

  private func apply(_ transition: BreakerTransition?) {
    guard let transition else { return }
    if let until = transition.openUntilMs {
      timer.arm(afterMs: until - clock.nowMs)
    } else {
      timer.cancel()
    }
    metrics.recordTransition(transition, breaker: name)
    onTransition?(transition)
    var metadata: Logger.Metadata = [
      "breaker": .string(name.rawValue), "from": .string(transition.from.rawValue),
      "to": .string(transition.to.rawValue),
      "reason": .string(transition.reason.rawValue),
      "failures_in_window": .stringConvertible(transition.failuresInWindow),
    ]
    if let until = transition.openUntilMs {
      metadata["retry_after_ms"] = .stringConvertible(until - transition.atMs)
    }
    logger.notice("breaker transition", metadata: metadata)
  }
}
