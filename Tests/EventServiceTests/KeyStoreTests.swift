import IdempotencyKeys
import Libevent
import Resilience
import Settings
import Testing

@testable import IdempotencyKeys

/// The handler against a key store that answers when the test says
/// (as Redis does, later), and the pieces of the Redis store that need no
/// server: the address, the begin script's replies.
@Suite("Key stores (in memory)")
struct KeyStoreTests {
  static let event = #"{"name":"x","userId":1}"#

  /// Holds every call until the test answers it.
  final class HeldStore: KeyStore {
    var begins: [(key: String, done: (KeyDecision) -> Void)] = []
    var finishes: [(outcome: IdempotencyStore.Ending, done: () -> Void)] = []
    var released: [KeyTicket] = []
    func begin(
      key: String, fingerprint: [UInt8], newEventID: String, _ done: @escaping (KeyDecision) -> Void
    ) { begins.append((key, done)) }
    func finish(
      _ ticket: KeyTicket, outcome: IdempotencyStore.Ending, then done: @escaping () -> Void
    ) { finishes.append((outcome, done)) }
    func release(_ ticket: KeyTicket) { released.append(ticket) }
    var health: KeyStoreHealth { KeyStoreHealth(kind: "redis", state: "connected") }
    func flush(_ done: @escaping () -> Void) { done() }
  }

  @Test func nothingGoesUpstreamBeforeTheStoreAnswers() {
    let store = HeldStore()
    let service = InMemoryService(keyStore: store)
    let post = service.post(Self.event, key: "k")
    #expect(service.transport.sent.isEmpty && post.status == nil)
    store.begins[0].done(.send(eventID: "id-1", ticket: KeyTicket(key: "k", owner: "o")))
    #expect(service.transport.sent.count == 1)
    #expect(
      String(decoding: service.transport.sent[0].body, as: UTF8.self).contains(#""id":"id-1""#))
  }

  @Test func theClientIsAnsweredOnlyOnceTheOutcomeIsRecorded() {
    let store = HeldStore()
    let service = InMemoryService(keyStore: store)
    let post = service.post(Self.event, key: "k")
    store.begins[0].done(.send(eventID: "id-1", ticket: KeyTicket(key: "k", owner: "o")))
    service.transport.answer(200, #"{"success":true}"#)
    #expect(post.status == nil, "not before the store has it")
    #expect(store.finishes.first?.outcome == .stored)
    store.finishes[0].done()
    #expect(post.status == 200 && post.json?["id"] == .string("id-1"))
  }

  @Test func aStoreThatCannotAnswerIs503AndUnkeyedWritesGoOn() {
    let store = HeldStore()
    let service = InMemoryService(keyStore: store)
    let keyed = service.post(Self.event, key: "k")
    store.begins[0].done(.unavailable(reason: "Redis is disconnected"))
    #expect(keyed.status == 503 && keyed.errorCode == "idempotency_store_unavailable")
    #expect(keyed.replyHeader("Retry-After") == "1")
    #expect(service.transport.sent.isEmpty)
    let unkeyed = service.post(Self.event)
    service.transport.answer(200, #"{"success":true}"#)
    #expect(unkeyed.status == 200)
    #expect(service.health?["idempotencyStore"]?["kind"] == .string("redis"))
  }

  @Test func aClientThatLeftBeforeTheStoreAnsweredReleasesTheKey() {
    let store = HeldStore()
    let service = InMemoryService(keyStore: store)
    let post = service.send(
      RecordedRequest(
        .post, "/addEvent",
        headers: [("Content-Type", "application/json"), ("Idempotency-Key", "k")],
        body: Self.event))
    // Answered meanwhile (here: by the test), so the store's yes comes too late.
    post.respond(status: 499, body: [])
    let ticket = KeyTicket(key: "k", owner: "o")
    store.begins[0].done(.send(eventID: "id-1", ticket: ticket))
    #expect(store.released == [ticket])
    #expect(service.transport.sent.isEmpty)
  }

  @Test func theBreakerRefusingReleasesTheKey() {
    let store = HeldStore()
    let service = InMemoryService(keyStore: store)
    for _ in 0..<3 {
      service.post(Self.event)
      service.transport.answer(503, "{}")
    }
    let post = service.post(Self.event, key: "k")
    let ticket = KeyTicket(key: "k", owner: "o")
    store.begins[0].done(.send(eventID: "id-1", ticket: ticket))
    #expect(post.errorCode == "circuit_open")
    #expect(store.released == [ticket])
  }

  @Test(arguments: [
    ("memory", IdempotencyStoreAddress.memory),
    ("redis://127.0.0.1:6380", .redis(host: "127.0.0.1", port: 6380, database: 0)),
    ("redis://cache.internal/3", .redis(host: "cache.internal", port: 6379, database: 3)),
    ("redis://h:1/", .redis(host: "h", port: 1, database: 0)),
  ])
  func storeAddressesParse(_ text: String, _ expected: IdempotencyStoreAddress) {
    #expect(IdempotencyStoreAddress(text) == expected)
  }

  @Test(arguments: [
    "", "Memory", "redis://", "redis://:6379", "redis://h:0", "redis://h:70000", "redis://h/16",
    "redis://user@h", "rediss://h", "redis://h/x",
  ])
  func badStoreAddressesAreRefused(_ text: String) {
    #expect(IdempotencyStoreAddress(text) == nil)
  }

  @Test func theBeginScriptsRepliesAreDecisions() {
    let ticket = KeyTicket(key: "k", owner: "o")
    func reply(_ parts: String...) -> [RedisConnection.Reply] {
      parts.map { .string(Array($0.utf8)) }
    }
    #expect(
      RedisKeyStore.decision(reply("send", "id-1", "new"), ticket: ticket)
        == .send(eventID: "id-1", ticket: ticket))
    #expect(RedisKeyStore.decision(reply("busy"), ticket: ticket) == .inProgress)
    #expect(RedisKeyStore.decision(reply("mismatch"), ticket: ticket) == .bodyMismatch)
    #expect(
      RedisKeyStore.decision(reply("replay", "id-1", "stored", "", ""), ticket: ticket)
        == .replay(eventID: "id-1", outcome: .stored))
    #expect(
      RedisKeyStore.decision(reply("replay", "id-1", "rejected", "404", "{}"), ticket: ticket)
        == .replay(eventID: "id-1", outcome: .rejected(status: 404, body: Array("{}".utf8))))
    #expect(RedisKeyStore.decision(reply("what"), ticket: ticket) == nil)
    #expect(RedisKeyStore.decision([.integer(1)], ticket: ticket) == nil)
    #expect(RedisKeyStore.hex([0x00, 0xAB, 0x7F]) == "00ab7f")
  }
}
