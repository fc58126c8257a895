import Testing

@testable import Resilience

private struct FixedSequence: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return state
  }
}

@Suite("RetryBackoff (full jitter)")
struct RetryBackoffTests {
  @Test func ceilingDoublesUpToTheCap() {
    let backoff = RetryBackoff(retries: 10, baseMs: 25, maxMs: 250)
    #expect((0..<6).map { backoff.ceilingMs(attempt: $0) } == [25, 50, 100, 200, 250, 250])
    #expect(backoff.ceilingMs(attempt: 200) == 250)
  }

  @Test func delaysStayWithinZeroAndTheCeiling() {
    let backoff = RetryBackoff(retries: 3, baseMs: 25, maxMs: 250)
    var random = FixedSequence(state: 7)
    var seen: Set<Int64> = []
    for _ in 0..<500 {
      for attempt in 0..<3 {
        let delay = backoff.delayMs(attempt: attempt, using: &random)!
        #expect((0...backoff.ceilingMs(attempt: attempt)).contains(delay))
        seen.insert(delay)
      }
    }
    #expect(seen.count > 50, "jitter spreads the delays")
  }

  @Test func noDelayOnceRetriesAreUsedUp() {
    var random = FixedSequence(state: 1)
    let backoff = RetryBackoff(retries: 2, baseMs: 25, maxMs: 250)
    #expect(backoff.delayMs(attempt: 2, using: &random) == nil)
    #expect(
      RetryBackoff(retries: 0, baseMs: 25, maxMs: 250).delayMs(attempt: 0, using: &random) == nil)
  }

  @Test func aSeededGeneratorRepeatsItsDelays() {
    let backoff = RetryBackoff(retries: 5, baseMs: 10, maxMs: 1_000)
    var a = FixedSequence(state: 42)
    var b = FixedSequence(state: 42)
    #expect(
      (0..<5).map { backoff.delayMs(attempt: $0, using: &a) }
        == (0..<5).map { backoff.delayMs(attempt: $0, using: &b) })
  }
}
