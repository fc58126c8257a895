import Libevent
import MiniJSON
import Testing

@testable import EventService

/// `/status` and `/status/stream` in memory, on a manual clock: the page,
/// the events (one a second, one on every breaker transition), viewers
/// that leave, do not read, or are too many, and the end of every stream
/// when the service stops.
@Suite("Status view (manual clock)")
struct StatusViewTests {
  static let event = #"{"name":"x","userId":1}"#

  /// The JSON of each `status` event in the stream so far.
  static func events(_ viewer: RecordedRequest) -> [JSONValue] {
    viewer.streamText.split(separator: "\n").compactMap { line in
      guard line.hasPrefix("data: ") else { return nil }
      return try? JSONValue.parse(Array(line.dropFirst(6).utf8))
    }
  }

  @Test func thePageIsSelfContained() {
    let service = InMemoryService()
    let page = service.get("/status")
    #expect(page.status == 200)
    #expect(page.replyHeader("Content-Type") == "text/html; charset=utf-8")
    #expect(page.text.contains(#"new EventSource("/status/stream")"#))
    // Nothing fetched from elsewhere, and the browser is told so.
    for outside in ["http://", "https://", "src=", "href=", "@import", "url("] {
      #expect(!page.text.contains(outside), "the page refers to \(outside)")
    }
    #expect(page.replyHeader("Content-Security-Policy")?.hasPrefix("default-src 'none'") == true)
    #expect(service.logs.requests.last?.level == .debug)
  }

  @Test func aViewerGetsASnapshotAtOnceThenOneASecond() throws {
    let service = InMemoryService()
    let viewer = service.get("/status/stream")
    #expect(viewer.status == 200)
    #expect(viewer.replyHeader("Content-Type") == "text/event-stream; charset=utf-8")
    #expect(viewer.streamText.hasPrefix("retry: 2000\nevent: status\ndata: {"))
    #expect(Self.events(viewer).count == 1)
    service.clock.advance(byMs: 999)
    #expect(Self.events(viewer).count == 1)
    service.clock.advance(byMs: 1)
    #expect(Self.events(viewer).count == 2)
    service.clock.advance(byMs: 3_000)
    #expect(Self.events(viewer).count == 5)
    let last = try #require(Self.events(viewer).last)
    #expect(last["breakers"]?["write"]?["state"] == .string("CLOSED"))
    #expect(last["breakers"]?["read"] == .null)
    #expect(last["viewers"] == .number("1"))
    #expect(last["maxInflight"] == .number("10000"))
  }

  @Test func aBreakerTransitionIsSentOnTheNextTurnAndListed() throws {
    let service = InMemoryService()
    let viewer = service.get("/status/stream")
    for _ in 0..<3 {
      service.post(Self.event)
      service.transport.answer(503, "{}")
    }
    service.clock.advance(byMs: 0)
    #expect(Self.events(viewer).count == 2)
    let open = try #require(Self.events(viewer).last)
    #expect(open["breakers"]?["write"]?["state"] == .string("OPEN"))
    #expect(open["breakers"]?["write"]?["retryAfterMs"] == .number("5000"))
    let transition = try #require(open["transitions"]?.arrayValue?.first)
    #expect(transition["breaker"] == .string("write"))
    #expect(transition["to"] == .string("OPEN"))
    #expect(transition["reason"] == .string("failure threshold reached"))
    // The backoff ends: HALF_OPEN is sent at once, then a probe closes it.
    service.clock.advance(byMs: 5_000)
    let halfOpen = try #require(Self.events(viewer).last)
    #expect(halfOpen["breakers"]?["write"]?["state"] == .string("HALF_OPEN"))
    service.post(Self.event)
    service.transport.answer(200, #"{"success":true}"#)
    service.clock.advance(byMs: 0)
    let closed = try #require(Self.events(viewer).last)
    #expect(closed["breakers"]?["write"]?["state"] == .string("CLOSED"))
    #expect(closed["transitions"]?.arrayValue?.count == 3)
    #expect(closed["transitions"]?.arrayValue?.first?["to"] == .string("CLOSED"))
  }

  @Test func latenciesAndKeptAnswersAppearByRoute() throws {
    let service = InMemoryService { $0.cacheTTLMs = 60_000 }
    let viewer = service.get("/status/stream")
    service.get("/getUsers")
    service.clock.advance(byMs: 40)
    service.transport.answer(200, "[]")
    service.get("/getUsers")  // a fresh hit
    service.clock.advance(byMs: 960)
    let snapshot = try #require(Self.events(viewer).last)
    let latency = try #require(snapshot["upstreamLatency"]?.arrayValue?.first)
    #expect(latency["route"] == .string("getUsers") && latency["p50Ms"] == .number("40.0"))
    let cache = try #require(snapshot["cache"]?.arrayValue?.first)
    #expect(cache["hit"] == .number("1") && cache["miss"] == .number("1"))
  }

  @Test func aViewerWhoLeavesIsForgottenAndTheTimerStops() {
    let service = InMemoryService()
    let viewer = service.get("/status/stream")
    #expect(service.clock.armedCount == 1)
    viewer.hangUp()
    #expect(service.context.status.viewers.isEmpty)
    #expect(service.clock.armedCount == 0)
    // Its log line: a stream that ended, status 200.
    let line = service.logs.requests.last
    #expect(line?.metadata["path"]?.description == "/status/stream")
    #expect(line?.metadata["status"]?.description == "200")
  }

  @Test func aViewerWhoDoesNotReadMissesEventsButNotTheStream() {
    let service = InMemoryService()
    let slow = service.get("/status/stream")
    let quick = service.get("/status/stream")
    slow.backlogged = true
    service.clock.advance(byMs: 3_000)
    #expect(Self.events(slow).count == 1)
    #expect(Self.events(quick).count == 4)
    slow.backlogged = false
    service.clock.advance(byMs: 1_000)
    #expect(Self.events(slow).count == 2)
  }

  @Test func viewersPastTheLimitAreTurnedAway() {
    let service = InMemoryService()
    for _ in 0..<StatusBoard.maxViewers { service.get("/status/stream") }
    let refused = service.get("/status/stream")
    #expect(refused.status == 503 && refused.errorCode == "overloaded")
    #expect(refused.replyHeader("Retry-After") == "5")
  }

  @Test func stoppingEndsEveryStream() {
    let service = InMemoryService()
    let viewers = (0..<3).map { _ in service.get("/status/stream") }
    service.context.status.endAll()
    #expect(viewers.allSatisfy { $0.streamEnded })
    #expect(service.clock.armedCount == 0)
    #expect(service.logs.requests.count == 3)
  }

  @Test func headGetsTheHeadersOnly() {
    let service = InMemoryService()
    let head = service.send(RecordedRequest(.head, "/status/stream"))
    #expect(head.status == 200 && head.chunks.isEmpty)
    #expect(service.context.status.viewers.isEmpty)
  }
}
