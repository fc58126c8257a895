import Foundation
import MiniJSON
import Testing

/// SPEC §9 against the release binary: two instances share their
/// idempotency keys through a real `redis-server` and one external
/// event-mock. Replays, 409 and 422 across instances; a lease taken over
/// after its owner was killed (same id, stored once); Redis stopped and
/// started again.
@Suite("Idempotency keys in Redis, across instances", .serialized)
struct SharedKeysTests {
  static let event = #"{"name":"shared","userId":1}"#

  /// An event-mock process whose writes never fail.
  final class Mock {
    let port: Int
    let process: Process

    init() throws {
      let (fd, port) = try TestSocket.bound(SOCK_STREAM)
      close(fd)
      self.port = port
      guard
        let process = BuiltProduct.process(
          "event-mock",
          arguments: [
            "--port", String(port), "--ok-count", "1000000", "--fail-count", "0",
            "--error-rate", "0",
          ])
      else { throw TestFailure("event-mock not built") }
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try Launch.run(process)
      self.process = process
      try TestHTTP.waitUntil { (try? TestHTTP.send(.get("/_mock/stats"), port: port)) != nil }
    }

    var stats: JSONValue? { try? TestHTTP.send(.get("/_mock/stats"), port: port).json }

    func number(_ name: String) -> Int {
      guard case .number(let text)? = stats?[name] else { return -1 }
      return Int(text) ?? -1
    }

    func writeDelay(ms: Int) throws {
      _ = try TestHTTP.send(.postJSON("/_mock/write-delay?ms=\(ms)", ""), port: port)
    }

    deinit {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
  }

  static func instance(redis: RedisServer, mock: Mock, _ extra: [String: String] = [:]) throws
    -> RunningService
  {
    try RunningService(
      environment: [
        "PORT": "0", "LOG_LEVEL": "info", "MOCK": #"{"ENABLED":false}"#,
        "API_BASE": "http://127.0.0.1:\(mock.port)", "IDEMPOTENCY_STORE": redis.url,
      ].merging(extra) { $1 })
  }

  static func post(_ port: Int, key: String, body: String = event) throws -> TestResponse {
    try TestHTTP.send(
      .postJSON("/addEvent", body).with(header: ("Idempotency-Key", key)), port: port)
  }

  @Test func aKeyAnsweredByOneInstanceIsReplayedByAnother() throws {
    let redis = try RedisServer()
    let mock = try Mock()
    let a = try Self.instance(redis: redis, mock: mock)
    let b = try Self.instance(redis: redis, mock: mock)
    defer {
      a.process.terminate()
      b.process.terminate()
    }
    let first = try Self.post(a.port, key: "k-replay")
    #expect(first.status == 200)
    let id = first.json?["id"]?.stringValue
    let again = try Self.post(b.port, key: "k-replay")
    #expect(again.status == 200)
    #expect(again.json?["id"]?.stringValue == id)
    #expect(again.header("Idempotent-Replayed") == "true")
    // Another body under the key, at either instance: 422.
    let other = try Self.post(b.port, key: "k-replay", body: #"{"name":"other","userId":1}"#)
    #expect(other.status == 422 && other.errorCode == "idempotency_key_reused")
    #expect(mock.number("eventsStored") == 1)
    let health = try TestHTTP.send(.get("/health"), port: b.port).json
    #expect(health?["idempotencyStore"]?["kind"] == .string("redis"))
    #expect(health?["idempotencyStore"]?["state"] == .string("connected"))
    _ = (a.log, b.log)
  }

  @Test func aKeyInFlightAtOneInstanceIs409AtAnother() throws {
    let redis = try RedisServer()
    let mock = try Mock()
    try mock.writeDelay(ms: 1_500)
    let a = try Self.instance(redis: redis, mock: mock)
    let b = try Self.instance(redis: redis, mock: mock)
    defer {
      a.process.terminate()
      b.process.terminate()
    }
    let inFlight = try TestHTTP.open(
      .postJSON("/addEvent", Self.event).with(header: ("Idempotency-Key", "k-409")), port: a.port)
    try TestHTTP.waitUntil { mock.number("eventsStored") == 1 }
    let busy = try Self.post(b.port, key: "k-409")
    #expect(busy.status == 409 && busy.errorCode == "request_in_progress")
    let answered = try TestHTTP.receive(on: inFlight)
    #expect(answered.status == 200)
    let replayed = try Self.post(b.port, key: "k-409")
    #expect(replayed.json?["id"] == answered.json?["id"])
    _ = (a.log, b.log)
  }

  /// The owner is killed with the event stored upstream but not yet
  /// acknowledged: the key stays in flight for its lease, then the next
  /// request takes it over and sends the event again with the same id,
  /// which the upstream stores once.
  @Test func aLapsedLeaseIsTakenOverWithTheSameID() throws {
    let redis = try RedisServer()
    let mock = try Mock()
    try mock.writeDelay(ms: 60_000)
    let lease = ["IDEMPOTENCY_LEASE_MS": "1000"]
    var a = try Self.instance(redis: redis, mock: mock, lease)
    let b = try Self.instance(redis: redis, mock: mock, lease)
    defer { b.process.terminate() }
    let lost = try TestHTTP.open(
      .postJSON("/addEvent", Self.event).with(header: ("Idempotency-Key", "k-lease")), port: a.port)
    try TestHTTP.waitUntil { mock.number("eventsStored") == 1 }
    kill(a.process.processIdentifier, SIGKILL)
    _ = a.waitForExit(limit: 5)
    close(lost)
    try mock.writeDelay(ms: 0)
    // The client retries with its key until it gets an answer that is not 409.
    var retry = try Self.post(b.port, key: "k-lease")
    var busy = 0
    try TestHTTP.waitUntil {
      guard retry.status == 409 else { return true }
      busy += 1
      retry = (try? Self.post(b.port, key: "k-lease")) ?? retry
      return retry.status != 409
    }
    #expect(retry.status == 200)
    #expect(busy > 0, "the lease held the key for a while")
    #expect(mock.number("eventsStored") == 1)
    #expect(mock.number("repeatedIds") == 1, "sent again with the same id")
    let events = try TestHTTP.send(.get("/getEvents"), port: mock.port).json?.arrayValue ?? []
    let id = retry.json?["id"]?.stringValue
    #expect(events.filter { $0["id"]?.stringValue == id }.count == 1)
    _ = b.log
  }

  /// Redis stops: keyed writes are 503 with nothing sent upstream,
  /// unkeyed writes go on; it starts again: keyed writes are accepted
  /// again, with no restart.
  @Test func redisDownThenBack() throws {
    let redis = try RedisServer()
    let mock = try Mock()
    let a = try Self.instance(redis: redis, mock: mock)
    defer { a.process.terminate() }
    #expect(try Self.post(a.port, key: "k-before").status == 200)
    redis.stop()
    try TestHTTP.waitUntil {
      (try? TestHTTP.send(.get("/health"), port: a.port).json?["idempotencyStore"]?["state"])
        != .string("connected")
    }
    let stored = mock.number("eventsStored")
    let refused = try Self.post(a.port, key: "k-during")
    #expect(refused.status == 503 && refused.errorCode == "idempotency_store_unavailable")
    #expect(refused.header("Retry-After") == "1")
    #expect(mock.number("eventsStored") == stored, "nothing sent upstream")
    let unkeyed = try TestHTTP.send(.postJSON("/addEvent", Self.event), port: a.port)
    #expect(unkeyed.status == 200)
    let metrics = String(
      decoding: try TestHTTP.send(.get("/metrics"), port: a.port).body, as: UTF8.self)
    #expect(metrics.contains("event_service_idempotency_store_errors_total"))
    #expect(!metrics.contains("event_service_idempotency_store_errors_total 0\n"))
    try redis.start()
    try TestHTTP.waitUntil { (try? Self.post(a.port, key: "k-after").status) == 200 }
    #expect(try Self.post(a.port, key: "k-after").header("Idempotent-Replayed") == "true")
    _ = a.log
  }
}
