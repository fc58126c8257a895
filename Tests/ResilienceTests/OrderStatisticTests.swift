import Testing

@testable import Resilience

@Suite("OrderStatistic")
struct OrderStatisticTests {
  /// A small seeded generator (SplitMix64), so every run sees the same data.
  struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  /// Every rank of many arrays agrees with sorting: random values, few
  /// distinct values (ties), sorted, reversed, and all equal.
  @Test(arguments: ["random", "ties", "sorted", "reversed", "equal", "organ pipe"])
  func agreesWithSorting(shape: String) {
    var random = SplitMix(state: 42)
    for count in [1, 2, 3, 7, 64, 1_000] {
      let values: [Int64] = (0..<count).map { i in
        switch shape {
        case "random": Int64.random(in: -1_000_000...1_000_000, using: &random)
        case "ties": Int64.random(in: 500...503, using: &random)
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
