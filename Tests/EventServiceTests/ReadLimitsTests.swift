import Testing

@testable import EventService

/// SPEC §7's deadline and admission over real HTTP. The rules themselves
/// (attempt deadlines, no retry past the deadline) are tested on a manual
/// clock in `FetchMachineTests` and `UpstreamClientTests`.
@Suite("Request deadline and admission")
struct ReadLimitsTests {
  /// Event lookups take 3 s; the request may take 300 ms: 504, and the
  /// lookups in flight are called off.
  @Test func aReadPastItsDeadlineGets504() throws {
    let stack = try ServiceStack.withMock {
      $0.requestTimeoutMs = 300
      $0.upstreamTimeoutMs = 5_000
      $0.mock.eventDelayMs = 3_000
    }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/1")
    #expect(response.status == 504)
    #expect(response.errorCode == "upstream_timeout")
    // The write path keeps its own rules: nothing changed for /health.
    #expect(try stack.get("/health").status == 200)
  }

  /// An upstream that never answers: the attempt's own deadline is what is
  /// left of the request's, so the read ends at its deadline, not after
  /// three attempt timeouts.
  @Test func aBlackHoledUpstreamEndsAtTheDeadline() throws {
    let stack = try ServiceStack.withScript({
      $0.requestTimeoutMs = 300
      $0.upstreamTimeoutMs = 2_000
    }) { _, _, _ in ScriptedReply(body: "[]", delayMs: 60_000) }
    defer { stack.stop() }
    let response = try stack.get("/getUsers")
    #expect(response.status == 504)
    #expect(response.errorCode == "upstream_timeout")
    #expect(stack.upstreamRequests["GET /getUsers"] == 1)
  }

  /// MAX_INFLIGHT 1: while one read waits on the upstream, the next is shed
  /// at once with Retry-After, the upstream never sees it, and probes are
  /// still answered.
  @Test func pastMaxInflightRequestsAreShed() throws {
    let stack = try ServiceStack.withMock {
      $0.maxInflight = 1
      $0.upstreamTimeoutMs = 5_000
      $0.mock.eventDelayMs = 1_000
    }
    defer { stack.stop() }
    let slow = try TestHTTP.open(.get("/getEventsByUserId/2"), port: stack.servicePort)
    try TestHTTP.waitUntil { stack.upstreamRequests["getEventById"] == 1 }
    let shed = try stack.get("/getUsers")
    #expect(shed.status == 503)
    #expect(shed.errorCode == "overloaded")
    #expect(shed.header("Retry-After") == "1")
    #expect(stack.upstreamRequests["getUsers"] == 0)
    #expect(try stack.get("/health").status == 200)
    #expect(try stack.get("/metrics").text.contains("event_service_requests_shed_total 1"))
    #expect(try TestHTTP.receive(on: slow).status == 200)
    // Answered: the slot is free again.
    #expect(try stack.get("/getUsers").status == 200)
  }
}
