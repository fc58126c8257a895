import Testing

@testable import Resilience

@Suite("MemoryBudget")
struct MemoryBudgetTests {
  /// Each row: an operation and what it must answer, in order, on one budget of 100.
  enum Step {
    case take(Int, elsewhere: Int, granted: Bool)
    case give(Int)
    case admitsNew(elsewhere: Int, Bool)
    case fits(Int, elsewhere: Int, Bool)
  }

  static func run(_ steps: [Step]) -> MemoryBudget {
    var budget = MemoryBudget(limit: 100)
    for (row, step) in steps.enumerated() {
      switch step {
      case .take(let bytes, let elsewhere, let granted):
        let taken = budget.take(bytes, elsewhere: elsewhere)
        #expect(taken == granted, "row \(row)")
      case .give(let bytes): budget.give(bytes)
      case .admitsNew(let elsewhere, let expected):
        #expect(budget.admitsNew(elsewhere: elsewhere) == expected, "row \(row)")
      case .fits(let bytes, let elsewhere, let expected):
        #expect(budget.fits(bytes, elsewhere: elsewhere) == expected, "row \(row)")
      }
    }
    return budget
  }

  @Test func takesUpToTheLimitCountingWhatIsHeldElsewhere() {
    let budget = Self.run([
      .take(60, elsewhere: 0, granted: true),
      .take(30, elsewhere: 20, granted: false),  // 60 + 20 + 30 > 100: nothing taken
      .take(30, elsewhere: 10, granted: true),  // exactly 100
      .admitsNew(elsewhere: 10, false),
      .admitsNew(elsewhere: 9, true),
      .give(50),
      .fits(40, elsewhere: 20, true),
      .fits(41, elsewhere: 20, false),
    ])
    #expect(budget.held == 40)
  }

  @Test func givingBackNeverGoesBelowZero() {
    let budget = Self.run([.take(10, elsewhere: 0, granted: true), .give(25)])
    #expect(budget.held == 0)
  }
}
