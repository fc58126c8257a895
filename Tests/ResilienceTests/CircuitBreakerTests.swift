import Testing

@testable import Resilience

/// The breaker driven by a virtual clock: each row is (time, event) → the state
/// after it and, for requests, the decision. Nothing sleeps.
@Suite("CircuitBreaker state machine")
struct CircuitBreakerTests {
  enum Event {
    /// A call admitted and failed at once (as in CLOSED).
    case fail
    /// A call admitted and succeeded at once.
    case succeed
    /// Ask to make a call and hold the permit.
    case request
    /// The held permit's call ended so.
    case outcome(BreakerOutcome)
    /// The owner's OPEN timer fired.
    case timer
  }

  enum Expected: Equatable {
    case allow, probe
    case reject(Int64)
  }

  struct Row {
    let at: Int64
    let event: Event
    let state: BreakerState
    var decision: Expected? = nil
    var failures: Int? = nil
  }

  static let defaults = BreakerSettings(
    failureThreshold: 3, failureWindowMs: 30_000, backoffMs: 5_000)

  private func run(_ rows: [Row], settings: BreakerSettings = defaults) {
    var breaker = CircuitBreaker(settings: settings)
    var held: BreakerPermit?
    for (index, row) in rows.enumerated() {
      let label = Comment(rawValue: "row \(index): t=\(row.at) \(row.event)")
      switch row.event {
      case .fail, .succeed:
        let (decision, _) = breaker.admit(now: row.at)
        guard case .allow(let permit) = decision else {
          Issue.record("row \(index): call was not admitted")
          return
        }
        _ = breaker.record(row.event.isFail ? .failure : .success, permit: permit, now: row.at)
      case .request:
        let (decision, _) = breaker.admit(now: row.at)
        switch decision {
        case .allow(let permit):
          held = permit
          #expect(row.decision == (permit.isProbe ? .probe : .allow), label)
        case .reject(let retryAfter):
          #expect(row.decision == .reject(retryAfter), label)
        }
      case .outcome(let outcome):
        _ = breaker.record(outcome, permit: held!, now: row.at)
      case .timer:
        breaker.deadlineReached(now: row.at)
      }
      #expect(breaker.state == row.state, label)
      if let failures = row.failures {
        #expect(breaker.failuresInWindow(now: row.at) == failures, label)
      }
    }
  }

  @Test func failuresAtTheWindowEdgeDoNotOpenIt() {
    // 0 ms has left a 30 000 ms window by 30 000 ms: only two count.
    run([
      Row(at: 0, event: .fail, state: .closed, failures: 1),
      Row(at: 29_999, event: .fail, state: .closed, failures: 2),
      Row(at: 30_000, event: .fail, state: .closed, failures: 2),
      Row(at: 30_001, event: .request, state: .closed, decision: .allow),
    ])
  }

  @Test func threeFailuresInsideTheWindowOpenIt() {
    run([
      Row(at: 0, event: .fail, state: .closed),
      Row(at: 1, event: .fail, state: .closed),
      Row(at: 29_999, event: .fail, state: .open, failures: 3),
      Row(at: 29_999, event: .request, state: .open, decision: .reject(5_000)),
    ])
  }

  @Test func thresholdReachedExactly() {
    run(
      [
        Row(at: 0, event: .fail, state: .closed), Row(at: 10, event: .fail, state: .closed),
        Row(at: 20, event: .fail, state: .closed), Row(at: 30, event: .fail, state: .closed),
        Row(at: 40, event: .fail, state: .open, failures: 5),
      ], settings: BreakerSettings(failureThreshold: 5, failureWindowMs: 1_000, backoffMs: 100))
  }

  @Test func aSuccessInClosedDoesNotEraseEarlierFailures() {
    run([
      Row(at: 0, event: .fail, state: .closed),
      Row(at: 100, event: .succeed, state: .closed, failures: 1),
      Row(at: 200, event: .fail, state: .closed),
      Row(at: 300, event: .succeed, state: .closed, failures: 2),
      Row(at: 400, event: .fail, state: .open),
    ])
  }

  @Test func openRejectsWithTheTimeLeftAndTheTimerMovesItToHalfOpen() {
    run([
      Row(at: 0, event: .fail, state: .closed), Row(at: 0, event: .fail, state: .closed),
      Row(at: 1_000, event: .fail, state: .open),
      Row(at: 1_000, event: .request, state: .open, decision: .reject(5_000)),
      Row(at: 3_500, event: .request, state: .open, decision: .reject(2_500)),
      Row(at: 5_999, event: .request, state: .open, decision: .reject(1)),
      Row(at: 6_000, event: .timer, state: .halfOpen),
      Row(at: 6_001, event: .request, state: .halfOpen, decision: .probe),
      // While the probe is out, the rest wait (up to the probe's own deadline, 2 s).
      Row(at: 6_001, event: .request, state: .halfOpen, decision: .reject(2_000)),
      Row(at: 7_001, event: .request, state: .halfOpen, decision: .reject(1_000)),
    ])
  }

  @Test func aRequestAtTheDeadlineProbesEvenBeforeTheTimerFires() {
    run([
      Row(at: 0, event: .fail, state: .closed), Row(at: 0, event: .fail, state: .closed),
      Row(at: 0, event: .fail, state: .open),
      Row(at: 5_000, event: .request, state: .halfOpen, decision: .probe),
      Row(at: 5_000, event: .timer, state: .halfOpen),
    ])
  }

  @Test func probeSuccessClosesAndClearsTheHistory() {
    run([
      Row(at: 0, event: .fail, state: .closed), Row(at: 0, event: .fail, state: .closed),
      Row(at: 0, event: .fail, state: .open),
      Row(at: 5_000, event: .timer, state: .halfOpen),
      Row(at: 5_010, event: .request, state: .halfOpen, decision: .probe),
      Row(at: 5_050, event: .outcome(.success), state: .closed, failures: 0),
      Row(at: 5_060, event: .fail, state: .closed), Row(at: 5_070, event: .fail, state: .closed),
      Row(at: 5_080, event: .fail, state: .open),
      // Backoff is the base again after a close.
      Row(at: 5_080, event: .request, state: .open, decision: .reject(5_000)),
    ])
  }

  @Test func probeFailureReopensWithMultipliedBackoffCappedAndResetOnClose() {
    let settings = BreakerSettings(
      failureThreshold: 1, failureWindowMs: 30_000, backoffMs: 5_000, backoffMultiplier: 2,
      backoffMaxMs: 15_000)
    run(
      [
        Row(at: 0, event: .fail, state: .open),
        Row(at: 5_000, event: .timer, state: .halfOpen),
        Row(at: 5_000, event: .request, state: .halfOpen, decision: .probe),
        Row(at: 5_100, event: .outcome(.failure), state: .open),
        Row(at: 5_100, event: .request, state: .open, decision: .reject(10_000)),
        Row(at: 15_100, event: .timer, state: .halfOpen),
        Row(at: 15_100, event: .request, state: .halfOpen, decision: .probe),
        Row(at: 15_200, event: .outcome(.failure), state: .open),
        Row(at: 15_200, event: .request, state: .open, decision: .reject(15_000)),
        Row(at: 30_200, event: .timer, state: .halfOpen),
        Row(at: 30_200, event: .request, state: .halfOpen, decision: .probe),
        Row(at: 30_300, event: .outcome(.failure), state: .open),
        Row(at: 30_300, event: .request, state: .open, decision: .reject(15_000)),
        Row(at: 45_300, event: .timer, state: .halfOpen),
        Row(at: 45_300, event: .request, state: .halfOpen, decision: .probe),
        Row(at: 45_400, event: .outcome(.success), state: .closed),
        Row(at: 45_500, event: .fail, state: .open),
        Row(at: 45_500, event: .request, state: .open, decision: .reject(5_000)),
      ], settings: settings)
  }

  @Test func aNeutralProbeFreesTheSlotForTheNextRequest() {
    run([
      Row(at: 0, event: .fail, state: .closed), Row(at: 0, event: .fail, state: .closed),
      Row(at: 0, event: .fail, state: .open),
      Row(at: 5_000, event: .timer, state: .halfOpen),
      Row(at: 5_000, event: .request, state: .halfOpen, decision: .probe),
      Row(at: 5_010, event: .outcome(.neutral), state: .halfOpen),
      Row(at: 5_020, event: .request, state: .halfOpen, decision: .probe),
    ])
  }

  @Test func theTimerDoesNothingOutsideOpen() {
    run([
      Row(at: 0, event: .timer, state: .closed),
      Row(at: 0, event: .fail, state: .closed),
    ])
  }

  /// A late outcome from before a transition changes nothing (generations).
  @Test func lateOutcomesAreStale() {
    var breaker = CircuitBreaker(settings: Self.defaults)
    guard case (.allow(let early), _) = breaker.admit(now: 0) else {
      Issue.record("not admitted")
      return
    }
    for t in [1, 2, 3] as [Int64] {
      guard case (.allow(let permit), _) = breaker.admit(now: t) else {
        Issue.record("not admitted")
        return
      }
      _ = breaker.record(.failure, permit: permit, now: t)
    }
    #expect(breaker.state == .open)
    #expect(breaker.record(.success, permit: early, now: 4) == .stale)
    #expect(breaker.state == .open)
    breaker.deadlineReached(now: 5_003)
    guard case (.allow(let probe), _) = breaker.admit(now: 5_003) else {
      Issue.record("no probe")
      return
    }
    #expect(breaker.record(.failure, permit: early, now: 5_004) == .stale)
    #expect(breaker.state == .halfOpen)
    guard case .counted(let transition?) = breaker.record(.success, permit: probe, now: 5_005)
    else {
      Issue.record("the probe's outcome was not counted")
      return
    }
    #expect(transition.to == .closed && transition.reason == .probeSucceeded)
  }

  @Test func transitionsCarryReasonAndDeadline() {
    var breaker = CircuitBreaker(
      settings: BreakerSettings(failureThreshold: 1, failureWindowMs: 10, backoffMs: 300))
    guard case (.allow(let permit), _) = breaker.admit(now: 100) else {
      Issue.record("not admitted")
      return
    }
    guard case .counted(let transition?) = breaker.record(.failure, permit: permit, now: 100) else {
      Issue.record("no transition")
      return
    }
    #expect(transition.from == .closed && transition.to == .open)
    #expect(transition.reason == .failureThreshold)
    #expect(transition.openUntilMs == 400)
    #expect(transition.failuresInWindow == 1)
    #expect(breaker.openUntilMs == 400)
    #expect(breaker.retryAfterMs(now: 250) == 150)
  }
}

extension CircuitBreakerTests.Event {
  var isFail: Bool {
    if case .fail = self { return true }
    return false
  }
}
