import MiniJSON
import ServiceAssembly
import Synchronization
import Testing

@testable import EventService

/// SPEC §7's kept answers and read breaker over real HTTP, in front of a
/// scripted upstream that can be switched to failing. (Their rules are
/// tested on a manual clock in `UpstreamClientTests` and
/// `BreakerGuardTests`.)
@Suite("Reads through outages")
struct ReadsThroughOutagesTests {
  /// A scripted upstream: the mock's user 1 and its two events, or 503 for
  /// everything while `failing`; event lookups take `eventDelayMs`.
  final class Upstream: Sendable {
    let failing = Mutex(false)
    let eventDelayMs = Mutex<Int64>(0)

    func reply(_ path: String) -> ScriptedReply {
      if failing.withLock({ $0 }) { return ScriptedReply(status: 503, body: "{}") }
      switch path {
      case "/getUsers": return ScriptedReply(body: #"[{"id":1}]"#)
      case "/getUserById/1": return ScriptedReply(body: #"{"id":1,"events":["a","b"]}"#)
      case "/getEventById/a", "/getEventById/b":
        let id = path.split(separator: "/").last ?? ""
        return ScriptedReply(body: #"{"id":"\#(id)"}"#, delayMs: eventDelayMs.withLock { $0 })
      default: return ScriptedReply(status: 404, body: "{}")
      }
    }
  }

  static func stack(
    _ upstream: Upstream, _ configure: @escaping (inout AssemblyConfig) -> Void
  ) throws -> ServiceStack {
    try ServiceStack.withScript({
      $0.retry.retries = 0
      $0.breaker.backoffMs = 60_000
      configure(&$0)
    }) { _, path, _ in upstream.reply(path) }
  }

  static func readBreaker(_ stack: ServiceStack) throws -> String? {
    try stack.get("/health").json?["readBreaker"]?["state"]?.stringValue
  }

  @Test func staleAnswersServeReadsThroughAnOutage() throws {
    let upstream = Upstream()
    let stack = try Self.stack(upstream) { $0.staleIfErrorMs = 60_000 }
    defer { stack.stop() }
    let fresh = try stack.get("/getUsers")
    #expect(fresh.status == 200)
    #expect(fresh.header("Cache-Status") == "event-service; fwd=miss")
    #expect(fresh.header("Age") == nil)
    #expect(try stack.get("/getEventsByUserId/1").status == 200)

    upstream.failing.withLock { $0 = true }
    let users = try stack.get("/getUsers")
    #expect(users.status == 200 && users.body == fresh.body)
    #expect(users.header("Cache-Status") == "event-service; hit; detail=stale")
    #expect(users.header("Age") == "0")
    let events = try stack.get("/getEventsByUserId/1")
    #expect(events.status == 200)
    #expect(events.text == #"[{"id":"a"},{"id":"b"}]"#)
    #expect(events.header("Cache-Status") == "event-service; hit; detail=stale")
    // Never asked before: nothing kept, the failure stands.
    #expect(try stack.get("/getEvents").status == 502)
    let metrics = try stack.get("/metrics").text
    #expect(
      metrics.contains(#"event_service_cache_requests_total{route="getUsers",result="stale"} 1"#))
  }

  @Test func theReadBreakerOpensAndStopsCallingTheUpstream() throws {
    let upstream = Upstream()
    let stack = try Self.stack(upstream) { $0.readBreakerEnabled = true }
    defer { stack.stop() }
    #expect(try stack.get("/getUsers").status == 200)
    #expect(try Self.readBreaker(stack) == "CLOSED")
    upstream.failing.withLock { $0 = true }
    for _ in 0..<3 { #expect(try stack.get("/getUsers").status == 502) }
    #expect(try Self.readBreaker(stack) == "OPEN")
    let asked = stack.upstreamRequests.total
    let refused = try stack.get("/getEventsByUserId/1")
    #expect(refused.status == 503)
    #expect(refused.errorCode == "circuit_open")
    #expect(refused.header("Retry-After") != nil)
    #expect(stack.upstreamRequests.total == asked)
    // The write breaker is another breaker.
    #expect(try stack.get("/health").json?["breaker"]?["state"]?.stringValue == "CLOSED")
    let metrics = try stack.get("/metrics").text
    #expect(
      metrics.contains(
        #"event_service_breaker_transitions_total{breaker="read",from="CLOSED",to="OPEN"} 1"#))
  }

  @Test func whileOpenKeptAnswersStillServe() throws {
    let upstream = Upstream()
    let stack = try Self.stack(upstream) {
      $0.readBreakerEnabled = true
      $0.staleIfErrorMs = 60_000
    }
    defer { stack.stop() }
    #expect(try stack.get("/getUsers").status == 200)
    upstream.failing.withLock { $0 = true }
    // Served stale, yet each is a failure to the read breaker.
    for _ in 0..<3 { #expect(try stack.get("/getUsers").status == 200) }
    #expect(try Self.readBreaker(stack) == "OPEN")
    let asked = stack.upstreamRequests.total
    let kept = try stack.get("/getUsers")
    #expect(kept.status == 200)
    #expect(kept.header("Cache-Status") == "event-service; hit; detail=stale")
    #expect(stack.upstreamRequests.total == asked)
  }

  /// The deadline passes while the events are still on their way: the
  /// reply is built from the kept answers.
  @Test func atTheDeadlineKeptAnswersStandIn() throws {
    let upstream = Upstream()
    let stack = try Self.stack(upstream) {
      $0.staleIfErrorMs = 60_000
      $0.requestTimeoutMs = 300
    }
    defer { stack.stop() }
    let fresh = try stack.get("/getEventsByUserId/1")
    #expect(fresh.status == 200)
    upstream.eventDelayMs.withLock { $0 = 5_000 }
    let late = try stack.get("/getEventsByUserId/1")
    #expect(late.status == 200 && late.body == fresh.body)
    #expect(late.header("Cache-Status") == "event-service; hit; detail=stale")
  }

  @Test func aFreshHitAsksNothing() throws {
    let upstream = Upstream()
    let stack = try Self.stack(upstream) { $0.cacheTTLMs = 60_000 }
    defer { stack.stop() }
    #expect(try stack.get("/getEventsByUserId/1").status == 200)
    let asked = stack.upstreamRequests.total
    let hit = try stack.get("/getEventsByUserId/1")
    #expect(hit.status == 200)
    #expect(hit.header("Cache-Status") == "event-service; hit")
    #expect(hit.header("Age") == "0")
    #expect(stack.upstreamRequests.total == asked)
  }
}
