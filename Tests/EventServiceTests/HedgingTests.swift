import Testing

@testable import EventService

/// Hedged event fetches against the embedded mock with a latency tail.
@Suite("Hedged event fetches")
struct HedgingTests {
  /// A 60-event user ("many") behind a mock with a latency tail; by
  /// default, hedges limited by nothing but the delay.
  static func stack(
    eventDelayMs: Int64, slowRate: Double, slowDelayMs: Int64, hedging: Bool, afterMs: Int64,
    budgetPercent: Int = 100
  ) throws -> ServiceStack {
    try ServiceStack.withMock {
      $0.mock.eventDelayMs = eventDelayMs
      $0.mock.slowRate = slowRate
      $0.mock.slowDelayMs = slowDelayMs
      $0.mock.extraUsers = [.init(id: "many", events: 60)]
      $0.coalesceGets = false
      $0.upstreamTimeoutMs = 3_000
      $0.hedging.enabled = hedging
      $0.hedging.afterMs = afterMs
      $0.hedging.budgetPercent = budgetPercent
    }
  }

  /// An unlabelled counter's value from /metrics (0 if absent).
  static func counter(_ name: String, of stack: ServiceStack) throws -> Int {
    let line = try stack.get("/metrics").text.split(separator: "\n")
      .first { $0.hasPrefix("event_service_\(name) ") }
    return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
  }

  static func stack(hedging: Bool) throws -> ServiceStack {
    try stack(eventDelayMs: 20, slowRate: 0.1, slowDelayMs: 1_500, hedging: hedging, afterMs: 100)
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

  /// With HEDGE_AFTER_MS 0 the delay is the running p95 (at least 50 ms):
  /// nothing is hedged before 100 fetches have been timed, and afterwards
  /// a slow lookup is hedged long before its 800 ms are up.
  @Test func hedgesAtTheRunningP95OnceWarm() throws {
    let stack = try Self.stack(
      eventDelayMs: 10, slowRate: 0.05, slowDelayMs: 800, hedging: true, afterMs: 0)
    defer { stack.stop() }
    func hedges() throws -> Int { try Self.counter("upstream_hedges_total", of: stack) }
    // 60 and then 120 fetches timed: the second fan-out started with 60.
    for _ in 0..<2 { #expect(try stack.get("/getEventsByUserId/many").status == 200) }
    #expect(try hedges() == 0)
    // Two more: with one lookup in twenty slow, 60 events nearly always
    // include one (all but 0.2 % of pairs).
    for _ in 0..<2 {
      let started = ContinuousClock.now
      let response = try stack.get("/getEventsByUserId/many")
      let elapsed = ContinuousClock.now - started
      #expect(response.status == 200 && response.json?.arrayValue?.count == 60)
      #expect(elapsed < .milliseconds(500), "\(elapsed)")
    }
    #expect(try hedges() > 0)
  }

  /// A spent budget (here: none at all) sends no hedge; every late fetch it
  /// refused is counted.
  @Test func aSpentBudgetRefusesHedgesAndCountsThem() throws {
    let stack = try Self.stack(
      eventDelayMs: 20, slowRate: 0.1, slowDelayMs: 400, hedging: true, afterMs: 100,
      budgetPercent: 0)
    defer { stack.stop() }
    let started = ContinuousClock.now
    #expect(try stack.get("/getEventsByUserId/many").status == 200)
    #expect(ContinuousClock.now - started >= .milliseconds(350))
    #expect(stack.upstreamRequests["getEventById"] == 60)
    #expect(try Self.counter("upstream_hedges_total", of: stack) == 0)
    #expect(try Self.counter("upstream_hedges_refused_total", of: stack) > 0)
  }

  /// Off (the default), nothing is hedged.
  @Test func offByDefault() {
    #expect(ServiceConfig().hedging.enabled == false)
  }
}
