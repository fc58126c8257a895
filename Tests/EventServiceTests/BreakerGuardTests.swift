import Libevent
import Logging
import Resilience
import Telemetry
import Testing

@testable import EventService

/// The breaker on a manual clock: the OPEN timer moves it to HALF_OPEN at
/// its deadline, with no traffic and no wall clock.
@Suite("BreakerGuard on a manual clock")
struct BreakerGuardTests {
  static func breaker(_ clock: ManualScheduler) -> BreakerGuard {
    BreakerGuard(
      settings: BreakerSettings(failureThreshold: 3, failureWindowMs: 30_000, backoffMs: 5_000),
      clock: clock, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
      metrics: ServiceMetrics())
  }

  static func fail(_ breaker: BreakerGuard) {
    guard case .allow(let permit) = breaker.admit() else {
      Issue.record("not admitted")
      return
    }
    breaker.record(.failure, permit: permit)
  }

  @Test func theTimerMovesItToHalfOpenAtItsDeadlineWithoutTraffic() {
    let clock = ManualScheduler(nowMs: 10_000)
    let breaker = Self.breaker(clock)
    for _ in 0..<3 { Self.fail(breaker) }
    #expect(breaker.snapshot.state == .open)
    #expect(breaker.snapshot.retryAfterMs == 5_000)
    clock.advance(byMs: 4_999)
    #expect(breaker.snapshot.state == .open)
    #expect(breaker.snapshot.retryAfterMs == 1)
    clock.advance(byMs: 1)
    #expect(breaker.snapshot.state == .halfOpen)
    #expect(breaker.snapshot.retryAfterMs == 0)
  }

  @Test func failuresOutsideTheWindowDoNotOpenIt() {
    let clock = ManualScheduler()
    let breaker = Self.breaker(clock)
    Self.fail(breaker)
    Self.fail(breaker)
    clock.advance(byMs: 30_001)
    Self.fail(breaker)
    #expect(breaker.snapshot.state == .closed)
    #expect(breaker.snapshot.failuresInWindow == 1)
  }

  @Test func anOpenBreakerRejectsWithTheTimeLeft() {
    let clock = ManualScheduler()
    let breaker = Self.breaker(clock)
    for _ in 0..<3 { Self.fail(breaker) }
    clock.advance(byMs: 1_500)
    #expect(breaker.admit() == .reject(retryAfterMs: 3_500))
  }
}
