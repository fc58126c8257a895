import Testing

@testable import Resilience

@Suite("IdempotencyStore (virtual clock)")
struct IdempotencyStoreTests {
  static let bodyA: [UInt8] = [1]
  static let bodyB: [UInt8] = [2]

  @Test func aKeyIsSentOnceThenReplayed() {
    var store = IdempotencyStore(ttlMs: 1_000, capacity: 10)
    #expect(
      store.begin(key: "k", fingerprint: Self.bodyA, newEventID: "e1", now: 0)
        == .send(eventID: "e1"))
    #expect(store.begin(key: "k", fingerprint: Self.bodyA, newEventID: "e2", now: 1) == .inProgress)
    #expect(
      store.begin(key: "k", fingerprint: Self.bodyB, newEventID: "e2", now: 1) == .inProgress)
    store.finish(key: "k", outcome: .stored)
    #expect(
      store.begin(key: "k", fingerprint: Self.bodyA, newEventID: "e3", now: 2)
        == .replay(eventID: "e1", outcome: .stored))
    #expect(
      store.begin(key: "k", fingerprint: Self.bodyB, newEventID: "e3", now: 2) == .bodyMismatch)
  }

  /// After a failure the same key sends again, with the same event id.
  @Test func aFailedKeyIsSentAgainWithTheSameID() {
    var store = IdempotencyStore(ttlMs: 1_000, capacity: 10)
    _ = store.begin(key: "k", fingerprint: Self.bodyA, newEventID: "e1", now: 0)
    store.finish(key: "k", outcome: .failed)
    #expect(
      store.begin(key: "k", fingerprint: Self.bodyA, newEventID: "e9", now: 5)
        == .send(eventID: "e1"))
    store.finish(key: "k", outcome: .rejected(status: 404, body: [7]))
    #expect(
      store.begin(key: "k", fingerprint: Self.bodyA, newEventID: "e9", now: 6)
        == .replay(eventID: "e1", outcome: .rejected(status: 404, body: [7])))
  }

  /// A request the breaker refused records nothing for a new key, and
  /// erases nothing of an old one.
  @Test func releaseForgetsANewKeyAndKeepsAnOldOne() {
    var store = IdempotencyStore(ttlMs: 1_000, capacity: 10)
    _ = store.begin(key: "new", fingerprint: Self.bodyA, newEventID: "e1", now: 0)
    store.release(key: "new")
    #expect(store.count == 0)
    _ = store.begin(key: "old", fingerprint: Self.bodyA, newEventID: "e2", now: 0)
    store.finish(key: "old", outcome: .failed)
    _ = store.begin(key: "old", fingerprint: Self.bodyA, newEventID: "e3", now: 1)
    store.release(key: "old")
    #expect(
      store.begin(key: "old", fingerprint: Self.bodyA, newEventID: "e4", now: 2)
        == .send(eventID: "e2"))
  }

  @Test func keysExpireFromTheirFirstUse() {
    var store = IdempotencyStore(ttlMs: 1_000, capacity: 10)
    _ = store.begin(key: "k", fingerprint: Self.bodyA, newEventID: "e1", now: 0)
    store.finish(key: "k", outcome: .stored)
    #expect(
      store.begin(key: "k", fingerprint: Self.bodyA, newEventID: "e2", now: 999)
        == .replay(eventID: "e1", outcome: .stored))
    #expect(
      store.begin(key: "k", fingerprint: Self.bodyB, newEventID: "e2", now: 1_000)
        == .send(eventID: "e2"))
  }

  @Test func theOldestKeyMakesRoom() {
    var store = IdempotencyStore(ttlMs: 1_000_000, capacity: 3)
    for (i, key) in ["a", "b", "c", "d"].enumerated() {
      _ = store.begin(key: key, fingerprint: Self.bodyA, newEventID: "e-\(key)", now: Int64(i))
      store.finish(key: key, outcome: .stored)
    }
    #expect(store.count == 3)
    // "a" was evicted: it is new again; "b" is still known.
    #expect(
      store.begin(key: "a", fingerprint: Self.bodyB, newEventID: "e-a2", now: 10)
        == .send(eventID: "e-a2"))
    #expect(
      store.begin(key: "c", fingerprint: Self.bodyA, newEventID: "x", now: 11)
        == .replay(eventID: "e-c", outcome: .stored))
  }
}
