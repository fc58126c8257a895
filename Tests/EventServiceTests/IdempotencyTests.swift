import Glibc
import MiniJSON
import Synchronization
import Testing

@testable import EventService

/// `Idempotency-Key` on POST /addEvent over real HTTP.
@Suite("Idempotency keys")
struct IdempotencyTests {
  static let event = #"{"name":"offsite","userId":1}"#

  static func post(
    _ stack: ServiceStack, key: String?, body: String = event
  ) throws -> TestResponse {
    var request = TestRequest.postJSON("/addEvent", body)
    if let key { request.headers.append(("Idempotency-Key", key)) }
    return try stack.send(request)
  }

  /// An upstream that stores events by id (acknowledging a repeat without
  /// storing it) and takes `delayMs` for the calls `slow` selects.
  final class Upstream: Sendable {
    let stored = Mutex<[String]>([])
    let sent = Mutex<[String]>([])

    func reply(body: [UInt8], slow: Bool) -> ScriptedReply {
      let id = (try? JSONValue.parse(body))?["id"]?.stringValue ?? "?"
      sent.withLock { $0.append(id) }
      stored.withLock { if !$0.contains(id) { $0.append(id) } }
      return ScriptedReply(body: #"{"success":true}"#, delayMs: slow ? 600 : 0)
    }
  }

  @Test func aSecondRequestIsAReplayWithoutAnUpstreamCall() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let first = try Self.post(stack, key: "order-1")
    let second = try Self.post(stack, key: "order-1")
    #expect(first.status == 200 && second.status == 200)
    #expect(first.json?["id"] != nil)
    #expect(second.json?["id"] == first.json?["id"])
    #expect(second.header("Idempotent-Replayed") == "true")
    #expect(first.header("Idempotent-Replayed") == nil)
    #expect(stack.upstreamRequests["addEvent"] == 1)
  }

  /// The first attempt times out although the upstream stored the event;
  /// the client's retry goes out with the same id, so it is stored once.
  @Test func aRetryAfterATimeoutStoresTheEventOnce() throws {
    let upstream = Upstream()
    let calls = Mutex(0)
    let stack = try ServiceStack.withScript({ $0.upstreamTimeoutMs = 100 }) { _, _, body in
      let call = calls.withLock { count in
        count += 1
        return count
      }
      return upstream.reply(body: body, slow: call == 1)
    }
    defer { stack.stop() }
    let first = try Self.post(stack, key: "retry-1")
    let second = try Self.post(stack, key: "retry-1")
    #expect(first.status == 503)
    #expect(first.errorCode == "upstream_unavailable")
    #expect(second.status == 200)
    let sent = upstream.sent.withLock { $0 }
    #expect(sent.count == 2 && sent[0] == sent[1])
    #expect(upstream.stored.withLock { $0 } == [sent[0]])
    #expect(second.json?["id"] == .string(sent[0]))
  }

  @Test func aKeyInFlightGets409() throws {
    let upstream = Upstream()
    let stack = try ServiceStack.withScript { _, _, body in upstream.reply(body: body, slow: true) }
    defer { stack.stop() }
    var first = TestRequest.postJSON("/addEvent", Self.event)
    first.headers.append(("Idempotency-Key", "busy-1"))
    let pending = try TestHTTP.open(first, port: stack.servicePort)
    // Held once the first is at the upstream (its answer waits 600 ms there).
    try TestHTTP.waitUntil { upstream.sent.withLock { $0.count } == 1 }
    let second = try Self.post(stack, key: "busy-1", body: #"{"name":"other","userId":2}"#)
    #expect(second.status == 409)
    #expect(second.errorCode == "request_in_progress")
    #expect(try TestHTTP.receive(on: pending).status == 200)
  }

  @Test func aKeyReusedWithAnotherBodyGets422() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    #expect(try Self.post(stack, key: "k-422").status == 200)
    let other = try Self.post(stack, key: "k-422", body: #"{"name":"changed","userId":1}"#)
    #expect(other.status == 422)
    #expect(other.errorCode == "idempotency_key_reused")
    #expect(stack.upstreamRequests["addEvent"] == 1)
  }

  /// Checked before the body: a bad key is 400 even with a bad body.
  @Test(arguments: ["", String(repeating: "k", count: 129), "has space", "naïve"])
  func invalidKeysGet400(key: String) throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try Self.post(stack, key: key, body: "not json")
    #expect(response.status == 400)
    #expect(response.errorCode == "invalid_idempotency_key")
    #expect(stack.upstreamRequests["addEvent"] == 0)
  }

  /// Validation errors and circuit_open record nothing: the key can then be
  /// used with another body.
  @Test func rejectedRequestsRecordNothing() throws {
    let stack = try ServiceStack.withMock {
      $0.mock.okCount = 0
      $0.breaker.backoffMs = 60_000
      $0.breaker.backoffMaxMs = 60_000
    }
    defer { stack.stop() }
    #expect(try Self.post(stack, key: "rej", body: #"{"name":""}"#).status == 400)
    for _ in 0..<3 { _ = try Self.post(stack, key: nil) }  // opens the breaker
    let open = try Self.post(stack, key: "rej")
    #expect(open.errorCode == "circuit_open")
    let again = try Self.post(stack, key: "rej", body: #"{"name":"different","userId":1}"#)
    #expect(again.errorCode == "circuit_open")
  }

  /// At IDEMPOTENCY_MAX_KEYS, the oldest key is forgotten first.
  @Test func theOldestKeyIsEvictedAtCapacity() throws {
    let stack = try ServiceStack.withMock {
      $0.idempotencyMaxKeys = 2
      $0.mock.okCount = 100
    }
    defer { stack.stop() }
    for key in ["a", "b", "c"] { #expect(try Self.post(stack, key: key).status == 200) }
    // "a" was evicted: another body is a new request, not a 422.
    #expect(try Self.post(stack, key: "a", body: #"{"name":"new","userId":1}"#).status == 200)
    // "c" is still known.
    #expect(try Self.post(stack, key: "c").header("Idempotent-Replayed") == "true")
  }

  /// IDEMPOTENCY_MAX_KEYS 0 turns the feature off: the header is ignored.
  @Test func keysOffMeansTheHeaderIsIgnored() throws {
    let stack = try ServiceStack.withMock {
      $0.idempotencyMaxKeys = 0
      $0.mock.okCount = 100
    }
    defer { stack.stop() }
    #expect(try Self.post(stack, key: "has space").status == 200)
    #expect(try Self.post(stack, key: "same").status == 200)
    #expect(try Self.post(stack, key: "same").header("Idempotent-Replayed") == nil)
    #expect(stack.upstreamRequests["addEvent"] == 3)
  }
}
