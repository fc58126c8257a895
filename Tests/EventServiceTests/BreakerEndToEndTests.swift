import Foundation
import MiniJSON
import ServiceAssembly
import Testing

@testable import EventService

/// The breaker through real HTTP, with small timings (BACKOFF_MS 200, window 2 s).
@Suite("Circuit breaker on POST /addEvent")
struct BreakerEndToEndTests {
  static func fastBreaker(_ config: inout AssemblyConfig) {
    config.breaker.backoffMs = 200
    config.breaker.failureWindowMs = 2_000
  }

  static let event = #"{"name":"x","userId":1}"#

  private func health(_ stack: ServiceStack) throws -> (
    state: String, failures: Int, retryAfter: JSONValue?
  ) {
    let json = try #require(try stack.get("/health").json?["breaker"])
    return (
      json["state"]?.stringValue ?? "", Int(json["failuresInWindow"]?.integerText ?? "") ?? -1,
      json["retryAfterMs"]
    )
  }

  @Test func threeFailuresOpenItAndThenNothingReachesTheUpstream() throws {
    let stack = try ServiceStack.withScript(Self.fastBreaker) { _, _, _ in
      ScriptedReply(status: 503, body: "{}")
    }
    defer { stack.stop() }
    for _ in 0..<3 {
      let response = try stack.postJSON(Self.event)
      #expect(response.status == 503)
      #expect(response.errorCode == "upstream_unavailable")
    }
    for _ in 0..<5 {
      let response = try stack.postJSON(Self.event)
      #expect(response.status == 503)
      #expect(response.errorCode == "circuit_open")
      #expect(response.header("Retry-After") == "1")
      let retryAfter = try #require(response.json?["retryAfterMs"]?.integerText.flatMap { Int($0) })
      #expect((1...200).contains(retryAfter))
    }
    #expect(stack.upstreamRequests["POST /addEvent"] == 3)
    let breaker = try health(stack)
    #expect(breaker.state == "OPEN")
    #expect(breaker.failures == 3)
    #expect(breaker.retryAfter?.integerText != nil)
  }

  @Test func theTimerMovesItToHalfOpenWithoutTraffic() throws {
    let stack = try ServiceStack.withScript(Self.fastBreaker) { _, _, _ in
      ScriptedReply(status: 500, body: "{}")
    }
    defer { stack.stop() }
    for _ in 0..<3 { _ = try stack.postJSON(Self.event) }
    #expect(try health(stack).state == "OPEN")
    // When exactly is the manual clock's business (`BreakerGuardTests`,
    // `RoutesInMemoryTests`); here only that the loop's timer does it, with
    // no request.
    try TestHTTP.waitUntil { (try? health(stack).state) == "HALF_OPEN" }
    let state = try health(stack).state
    #expect(state == "HALF_OPEN")
    #expect(try health(stack).retryAfter == .number("0"))
    #expect(stack.upstreamRequests["POST /addEvent"] == 3)
  }

  @Test func halfOpenLetsExactlyOneOfFiftyConcurrentRequestsThrough() throws {
    let calls = Tally()
    let stack = try ServiceStack.withScript(Self.fastBreaker) { _, _, _ in
      calls.add("post")
      // Three failures open it; the probe then succeeds, slowly enough that
      // the other 49 arrive while it is out.
      return calls["post"] <= 3
        ? ScriptedReply(status: 503, body: "{}")
        : ScriptedReply(body: #"{"success":true}"#, delayMs: 100)
    }
    defer { stack.stop() }
    for _ in 0..<3 { _ = try stack.postJSON(Self.event) }
    try TestHTTP.waitUntil { (try? health(stack).state) == "HALF_OPEN" }
    let responses = try stack.sendAll(
      Array(repeating: .postJSON("/addEvent", Self.event), count: 50))
    #expect(responses.filter { $0.status == 200 }.count == 1)
    #expect(responses.filter { $0.errorCode == "circuit_open" }.count == 49)
    #expect(stack.upstreamRequests["POST /addEvent"] == 4)
    let breaker = try health(stack)
    #expect(breaker.state == "CLOSED")
    #expect(breaker.failures == 0)
    #expect(breaker.retryAfter == .null)
  }

  @Test func aFailedProbeReopensIt() throws {
    let stack = try ServiceStack.withScript(Self.fastBreaker) { _, _, _ in
      ScriptedReply(status: 502, body: "{}")
    }
    defer { stack.stop() }
    for _ in 0..<3 { _ = try stack.postJSON(Self.event) }
    try TestHTTP.waitUntil { (try? health(stack).state) == "HALF_OPEN" }
    let probe = try stack.postJSON(Self.event)
    #expect(probe.errorCode == "upstream_unavailable")
    #expect(try health(stack).state == "OPEN")
    #expect(try stack.postJSON(Self.event).errorCode == "circuit_open")
    #expect(stack.upstreamRequests["POST /addEvent"] == 4)
  }

  @Test func upstream4xxAndInvalidBodiesNeverOpenIt() throws {
    let stack = try ServiceStack.withScript(Self.fastBreaker) { _, _, _ in
      ScriptedReply(status: 422, body: #"{"error":"nope"}"#)
    }
    defer { stack.stop() }
    for _ in 0..<5 {
      let rejected = try stack.postJSON(Self.event)
      #expect(rejected.status == 422)
      #expect(rejected.errorCode == "upstream_rejected")
      #expect(try stack.postJSON(#"{"name":""}"#).status == 400)
      #expect(try stack.postJSON("{}", contentType: nil).status == 415)
    }
    let breaker = try health(stack)
    #expect(breaker.state == "CLOSED")
    #expect(breaker.failures == 0)
    #expect(stack.upstreamRequests["POST /addEvent"] == 5)
  }

  @Test func timeoutsAndDroppedConnectionsAreFailures() throws {
    let calls = Tally()
    let stack = try ServiceStack.withScript({ config in
      Self.fastBreaker(&config)
      config.upstreamTimeoutMs = 100
    }) { _, _, _ in
      calls.add("post")
      return calls["post"] == 1
        ? ScriptedReply(body: "{}", delayMs: 400) : ScriptedReply(drop: true)
    }
    defer { stack.stop() }
    let slow = try stack.postJSON(Self.event)
    #expect(slow.errorCode == "upstream_unavailable")
    #expect(slow.json?["message"]?.stringValue?.contains("timed out") == true)
    _ = try stack.postJSON(Self.event)
    _ = try stack.postJSON(Self.event)
    #expect(try health(stack).state == "OPEN")
  }

  /// The default mock cycle (5 ok, 10 fail): a well-behaved client that waits
  /// out Retry-After. Nothing accepted is lost, nothing rejected is stored,
  /// and the breaker closes again once the upstream recovers.
  @Test func sixtyCallsAgainstTheDefaultMockLoseNothing() throws {
    let stack = try ServiceStack.withMock { config in
      config.breaker.backoffMs = 50
      config.mock.failDelayMs = 5
    }
    defer { stack.stop() }
    var accepted: [String: String] = [:]
    var refused: [String] = []
    var circuitOpen = 0
    var sawOpen = false
    var index = 0
    func call() throws {
      let name = "event-\(index)"
      index += 1
      let response = try stack.postJSON(#"{"name":"\#(name)","userId":2}"#)
      switch (response.status, response.errorCode) {
      case (200, _): accepted[name] = response.json?["id"]?.stringValue
      case (503, "circuit_open"):
        circuitOpen += 1
        sawOpen = true
        refused.append(name)
        let wait = Int(response.json?["retryAfterMs"]?.integerText ?? "50") ?? 50
        usleep(UInt32(wait + 5) * 1_000)
      case (503, "upstream_unavailable"): refused.append(name)
      default: Issue.record("unexpected answer \(response.status) \(response.text)")
      }
    }
    for _ in 0..<60 { try call() }
    // Then until the upstream has recovered and the breaker closed.
    var extra = 0
    while try health(stack).state != "CLOSED" && extra < 60 {
      try call()
      extra += 1
    }
    #expect(sawOpen)
    #expect(circuitOpen > 0)
    #expect(try health(stack).state == "CLOSED")
    let stored = try #require(try stack.get("/getEventsByUserId/2").json?.arrayValue)
    let storedNames = stored.compactMap { $0["name"]?.stringValue }.filter {
      $0.hasPrefix("event-")
    }
    #expect(Set(storedNames) == Set(accepted.keys))
    #expect(storedNames.count == accepted.count)
    #expect(Set(storedNames).isDisjoint(with: refused))
    for event in stored where event["name"]?.stringValue?.hasPrefix("event-") == true {
      #expect(accepted[event["name"]!.stringValue!] == event["id"]?.stringValue)
    }
    // Every request that reached the mock was one the breaker let through.
    #expect(stack.upstreamRequests["addEvent"] == index - circuitOpen)
  }
}
