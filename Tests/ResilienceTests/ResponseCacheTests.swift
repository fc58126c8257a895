import Testing

@testable import Resilience

@Suite("ResponseCache (bytes bound, LRU, virtual clock)")
struct ResponseCacheTests {
  typealias Cache = ResponseCache<String>

  static func keys(_ cache: inout Cache, _ candidates: [String], now: Int64) -> [String] {
    candidates.filter { cache.lookup($0, maxAgeMs: .max, now: now) != nil }
  }

  @Test func aStoredValueIsFoundWithItsAge() {
    var cache = Cache(maxBytes: 100, retainMs: 10_000)
    cache.store("a", "A", bytes: 10, now: 1_000)
    let hit = cache.lookup("a", maxAgeMs: 5_000, now: 3_500)
    #expect(hit?.value == "A" && hit?.ageMs == 2_500)
    #expect(cache.lookup("a", maxAgeMs: 2_000, now: 3_500) == nil)
    #expect(cache.lookup("b", maxAgeMs: 5_000, now: 3_500) == nil)
  }

  @Test func theLeastRecentlyUsedGoFirstWhenBytesRunOut() {
    var cache = Cache(maxBytes: 30, retainMs: 10_000)
    cache.store("a", "A", bytes: 10, now: 0)
    cache.store("b", "B", bytes: 10, now: 0)
    cache.store("c", "C", bytes: 10, now: 0)
    // "a" used: "b" is now the least recently used.
    _ = cache.lookup("a", maxAgeMs: .max, now: 1)
    cache.store("d", "D", bytes: 10, now: 2)
    #expect(Self.keys(&cache, ["a", "b", "c", "d"], now: 3) == ["a", "c", "d"])
    #expect(cache.bytes == 30 && cache.count == 3)
    // A large value evicts as many as it needs, oldest first.
    cache.store("e", "E", bytes: 25, now: 4)
    #expect(Self.keys(&cache, ["a", "c", "d", "e"], now: 5) == ["e"])
    #expect(cache.bytes == 25)
  }

  @Test func storingAgainReplacesAndRestartsTheAge() {
    var cache = Cache(maxBytes: 100, retainMs: 10_000)
    cache.store("a", "old", bytes: 40, now: 0)
    cache.store("a", "new", bytes: 20, now: 500)
    let hit = cache.lookup("a", maxAgeMs: .max, now: 600)
    #expect(hit?.value == "new" && hit?.ageMs == 100)
    #expect(cache.bytes == 20 && cache.count == 1)
  }

  @Test func aValueLargerThanTheCacheIsNotKept() {
    var cache = Cache(maxBytes: 10, retainMs: 10_000)
    cache.store("a", "A", bytes: 5, now: 0)
    cache.store("a", "huge", bytes: 11, now: 1)
    #expect(cache.lookup("a", maxAgeMs: .max, now: 2) == nil)
    #expect(cache.bytes == 0 && cache.count == 0)
  }

  @Test func entriesPastTheirUseAreDroppedWhenFound() {
    var cache = Cache(maxBytes: 100, retainMs: 1_000)
    cache.store("a", "A", bytes: 10, now: 0)
    #expect(cache.lookup("a", maxAgeMs: .max, now: 1_001) == nil)
    #expect(cache.count == 0 && cache.bytes == 0)
  }

  @Test func slotsAreReusedAndTheOrderHoldsThroughChurn() {
    var cache = Cache(maxBytes: 50, retainMs: .max)
    for round in 0..<200 {
      cache.store("k\(round % 7)", "v\(round)", bytes: 10, now: Int64(round))
      #expect(cache.bytes <= 50)
    }
    // The five most recently stored of the seven keys remain.
    let expected = (195..<200).map { "k\($0 % 7)" }.sorted()
    #expect(Self.keys(&cache, (0..<7).map { "k\($0)" }, now: 300).sorted() == expected)
  }

  @Test func aZeroByteCacheKeepsNothing() {
    var cache = Cache(maxBytes: 0, retainMs: 10_000)
    cache.store("a", "A", bytes: 1, now: 0)
    #expect(cache.count == 0)
  }

  /// Kept again and larger: the others make room, oldest first; it stays.
  @Test func aValueKeptAgainLargerEvictsOthersNotItself() {
    var cache = Cache(maxBytes: 30, retainMs: 10_000)
    cache.store("a", "A", bytes: 10, now: 0)
    cache.store("b", "B", bytes: 10, now: 1)
    cache.store("c", "C", bytes: 10, now: 2)
    cache.store("a", "A2", bytes: 20, now: 3)
    #expect(Self.keys(&cache, ["a", "b", "c"], now: 4) == ["a", "c"])
    #expect(cache.lookup("a", maxAgeMs: .max, now: 4)?.value == "A2")
    #expect(cache.bytes == 30)
  }
}
