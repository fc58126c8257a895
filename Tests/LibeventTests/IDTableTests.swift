import Testing

@testable import Libevent

@Suite("IDTable")
struct IDTableTests {
  /// A small deterministic generator (SplitMix64): the same operations every run.
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

  /// Random inserts, updates and removals agree with `Dictionary` at every
  /// step, through growth and through deletions inside probe runs. Keys
  /// come from a small range (many collisions) and from sequential ids
  /// (how the pool uses it).
  @Test(arguments: [0...63, 1_000_000...1_004_095])
  func behavesLikeADictionary(keys: ClosedRange<Int>) {
    var random = SplitMix(state: 42)
    var table = IDTable<Int>()
    var reference: [Int: Int] = [:]
    for step in 0..<20_000 {
      let key = Int.random(in: keys, using: &random)
      switch Int.random(in: 0..<3, using: &random) {
      case 0, 1:
        table[key] = step
        reference[key] = step
      default:
        #expect(table.removeValue(forKey: key) == reference.removeValue(forKey: key))
      }
      #expect(table[key] == reference[key])
      #expect(table.count == reference.count)
    }
    for key in keys { #expect(table[key] == reference[key]) }
    #expect(
      table.entries.sorted { $0.key < $1.key }.map(\.key) == reference.keys.sorted())
  }

  @Test func assigningNilRemoves() {
    var table = IDTable<String>()
    table[7] = "seven"
    table[7] = nil
    #expect(table[7] == nil)
    #expect(table.isEmpty)
    table[7] = "again"
    table.removeAll()
    #expect(table.count == 0)
  }
}
