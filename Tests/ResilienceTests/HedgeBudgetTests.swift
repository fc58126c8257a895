import Testing

@testable import Resilience

@Suite("HedgeBudget (virtual clock)")
struct HedgeBudgetTests {
  static func fetches(_ budget: inout HedgeBudget, _ count: Int, now: Int64) {
    for _ in 0..<count { budget.recordFetch(now: now) }
  }

  /// Asks for `asks` hedges at `now`; how many were granted.
  static func grant(_ budget: inout HedgeBudget, asks: Int, now: Int64) -> Int {
    (0..<asks).filter { _ in budget.allowHedge(now: now) }.count
  }

  /// Hedges are a share of the fetches started; there is no reserve.
  @Test func noFetchesNoHedges() {
    var budget = HedgeBudget(percent: 5, windowMs: 10_000)
    #expect(Self.grant(&budget, asks: 3, now: 0) == 0)
  }

  /// A 1,000-event fan-out whose fetches are late by the hundred spends its
  /// own 5 % (plus the pace's floor of 10), not the share the window saved
  /// from earlier fan-outs; the next fan-out, a second later, still gets
  /// its hedges.
  @Test func oneBurstCannotSpendTheWindow() {
    var budget = HedgeBudget(percent: 5, windowMs: 10_000)
    // Five quiet fan-outs, a second apart, each needing 10 hedges.
    for second in 0..<5 {
      let now = Int64(second) * 1_000
      Self.fetches(&budget, 1_000, now: now)
      #expect(Self.grant(&budget, asks: 10, now: now + 520) == 10)
    }
    // A slow burst: 400 fetches late at once.
    Self.fetches(&budget, 1_000, now: 5_000)
    #expect(Self.grant(&budget, asks: 400, now: 5_520) == 60)
    // The next fan-out still finds hedges for its ten slow lookups.
    Self.fetches(&budget, 1_000, now: 6_000)
    #expect(Self.grant(&budget, asks: 10, now: 6_520) == 10)
  }

  /// Light traffic: the pace's floor (10 a second) never binds before the
  /// window's share does.
  @Test func lightTrafficIsLimitedByTheWindowAlone() {
    var budget = HedgeBudget(percent: 5, windowMs: 10_000)
    for second in 0..<10 { Self.fetches(&budget, 20, now: Int64(second) * 1_000) }
    // 200 fetches in the window: 10 hedges, all at once if need be.
    #expect(Self.grant(&budget, asks: 15, now: 9_500) == 10)
  }

  /// Table: percent, fetches started at 0, hedges asked at 500 ms, granted.
  @Test(arguments: [
    (5, 100, 10, 5),
    (5, 1_000, 100, 50),
    (10, 1_000, 200, 100),
    (100, 5, 10, 5),
    (0, 1_000, 10, 0),
    (5, 10, 10, 0),
  ])
  func grants(percent: Int, fetches: Int, asks: Int, granted: Int) {
    var budget = HedgeBudget(percent: percent, windowMs: 10_000)
    Self.fetches(&budget, fetches, now: 0)
    #expect(Self.grant(&budget, asks: asks, now: 500) == granted)
  }

  /// The pace refills as its second passes: a burst a second later gets
  /// its share again (the window's 5 % of 2,000, less the 50 already sent).
  @Test func thePaceRefillsEachSecond() {
    var budget = HedgeBudget(percent: 5, windowMs: 10_000)
    Self.fetches(&budget, 1_000, now: 0)
    #expect(Self.grant(&budget, asks: 80, now: 500) == 50)
    #expect(Self.grant(&budget, asks: 5, now: 900) == 0)
    Self.fetches(&budget, 1_000, now: 1_500)
    #expect(Self.grant(&budget, asks: 80, now: 2_000) == 50)
  }
}
