import Testing

@testable import Resilience

@Suite("RetryBudget (virtual clock)")
struct RetryBudgetTests {
  static func budget(percent: Int = 20, minPerSecond: Int = 10, windowMs: Int64 = 10_000)
    -> RetryBudget
  {
    RetryBudget(settings: .init(percent: percent, minPerSecond: minPerSecond, windowMs: windowMs))
  }

  /// Asks for `asks` retries at `now`; how many the budget granted.
  static func grant(_ budget: inout RetryBudget, asks: Int, now: Int64) -> Int {
    (0..<asks).filter { _ in budget.allowRetry(now: now) }.count
  }

  static func attempts(_ budget: inout RetryBudget, _ count: Int, now: Int64) {
    for _ in 0..<count { budget.recordFirstAttempt(now: now) }
  }

  /// The reserve (10/s × 10 s) may be spent at once, then nothing more.
  @Test func theReserveCanBeSpentAtOnce() {
    var budget = Self.budget()
    let granted = Self.grant(&budget, asks: 101, now: 0)
    let state = budget.state(now: 0)
    #expect(granted == 100)
    #expect(state == .init(firstAttempts: 0, retries: 100, available: 0))
  }

  /// Without a reserve, retries are 20 % of first attempts, as they come.
  @Test func retriesAreAShareOfFirstAttempts() {
    var budget = Self.budget(minPerSecond: 0)
    Self.attempts(&budget, 10, now: 0)
    let first = Self.grant(&budget, asks: 3, now: 1)
    Self.attempts(&budget, 5, now: 4)
    let second = Self.grant(&budget, asks: 2, now: 5)
    #expect(first == 2)
    #expect(second == 1)
  }

  /// Events leave the window as it slides (a tenth at a time).
  @Test func theWindowSlides() {
    var budget = Self.budget(minPerSecond: 0)
    Self.attempts(&budget, 10, now: 0)
    let early = Self.grant(&budget, asks: 2, now: 0)
    let refused = Self.grant(&budget, asks: 1, now: 9_999)
    // The first bucket has left: its attempts and its retries are gone.
    let later = budget.state(now: 10_000)
    Self.attempts(&budget, 5, now: 10_500)
    let fresh = Self.grant(&budget, asks: 2, now: 10_600)
    // A long silence empties everything at once.
    let silent = budget.state(now: 1_000_000)
    #expect(early == 2)
    #expect(refused == 0)
    #expect(later == .init(firstAttempts: 0, retries: 0, available: 0))
    #expect(fresh == 1)
    #expect(silent.firstAttempts == 0)
  }

  @Test(arguments: [
    // percent, min/s, first attempts, retries asked, retries allowed
    (20, 10, 0, 150, 100),
    (20, 10, 1_000, 400, 300),
    (20, 0, 1_000, 400, 200),
    (0, 0, 1_000, 10, 0),
    (100, 0, 7, 10, 7),
  ])
  func decisions(percent: Int, minPerSecond: Int, first: Int, asked: Int, allowed: Int) {
    var budget = Self.budget(percent: percent, minPerSecond: minPerSecond)
    Self.attempts(&budget, first, now: 100)
    let granted = Self.grant(&budget, asks: asked, now: 200)
    #expect(granted == allowed)
  }
}
