import Testing

@testable import EventService

/// Hedged event fetches against the embedded mock with a latency tail.
@Suite("Hedged event fetches")
struct HedgingTests {
  static func stack(hedging: Bool) throws -> ServiceStack {
    try ServiceStack.withMock {
      $0.mock.eventDelayMs = 20
      $0.mock.slowRate = 0.1
      $0.mock.slowDelayMs = 1_500
      $0.mock.extraUsers = [.init(id: "many", events: 60)]
      $0.coalesceGets = false
      $0.upstreamTimeoutMs = 3_000
      $0.hedging.enabled = hedging
      $0.hedging.afterMs = 100
      $0.hedging.budgetPercent = 100
    }
  }

  /// With one lookup in ten taking 1.5 s, a 60-event fan-out nearly always
  /// waits 1.5 s; hedged after 100 ms, it answers in a few hundred ms, for
  /// a few more upstream requests.
  @Test func hedgingCutsTheTailOfAFanOut() throws {
    let plain = try Self.stack(hedging: false)
    let started = ContinuousClock.now
    let slow = try plain.get("/getEventsByUserId/many")
    let plainTime = ContinuousClock.now - started
    let plainRequests = plain.upstreamRequests["getEventById"]
    plain.stop()

    let hedged = try Self.stack(hedging: true)
    defer { hedged.stop() }
    let hedgedStart = ContinuousClock.now
    let fast = try hedged.get("/getEventsByUserId/many")
    let hedgedTime = ContinuousClock.now - hedgedStart

    #expect(slow.status == 200 && fast.status == 200)
    #expect(fast.json?.arrayValue?.count == 60)
    #expect(fast.body == slow.body)
    #expect(plainTime >= .milliseconds(1_400), "\(plainTime)")
    #expect(hedgedTime < .milliseconds(1_000), "\(hedgedTime)")
    #expect(plainRequests == 60)
    #expect(hedged.upstreamRequests["getEventById"] > 60)
    let metrics = try hedged.get("/metrics").text
    #expect(metrics.contains("event_service_upstream_hedges_total"))
  }

  /// Off (the default), nothing is hedged.
  @Test func offByDefault() {
    #expect(ServiceConfig().hedging.enabled == false)
  }
}
