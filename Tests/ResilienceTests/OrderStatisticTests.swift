import Testing

@testable import Resilience

@Suite("OrderStatistic")
struct OrderStatisticTests {
  /// Every rank of many arrays agrees with sorting: random values, few
  /// distinct values (ties), sorted, reversed, and all equal.
  @Test(arguments: ["random", "ties", "sorted", "reversed", "equal", "organ pipe"])
  func agreesWithSorting(shape: String) {
    for count in [1, 2, 3, 7, 64, 1_000] {
      let values: [Int64] = (0..<count).map { i in
        switch shape {
        // Scrambled by multiplicative hashing: the same data on every run.
        case "random": Int64((UInt64(i) &* 0x9E37_79B9_7F4A_7C15) >> 40) - 8_000_000
        case "ties": 500 + Int64((UInt64(i) &* 0x9E37_79B9_7F4A_7C15) >> 62)
        case "sorted": Int64(i)
        case "reversed": Int64(count - i)
        case "equal": 7
        default: Int64(min(i, count - i))
        }
      }
      let sorted = values.sorted()
      for k in Set([0, count / 2, count * 95 / 100, count - 1]) {
        var scratch = values
        #expect(OrderStatistic.select(k, in: &scratch) == sorted[k], "\(shape) \(count) k=\(k)")
        #expect(scratch.sorted() == sorted, "a permutation of the input")
      }
    }
  }
}
