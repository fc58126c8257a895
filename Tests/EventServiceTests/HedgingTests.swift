import Settings
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

  /// Against the real mock, end to end: with one lookup in ten taking
  /// 1.5 s and hedges after 100 ms, the fan-out's answer is the same as
  /// without hedging, and hedges were sent and counted. (When and why a
  /// hedge is sent is tested on a manual clock: `FetchMachineTests`,
  /// `UpstreamClientTests`.)
  @Test func hedgedFanOutAnswersTheSame() throws {
    let plain = try Self.stack(hedging: false)
    let slow = try plain.get("/getEventsByUserId/many")
    let plainRequests = plain.upstreamRequests["getEventById"]
    plain.stop()

    let hedged = try Self.stack(hedging: true)
    defer { hedged.stop() }
    let fast = try hedged.get("/getEventsByUserId/many")

    #expect(slow.status == 200 && fast.status == 200)
    #expect(fast.json?.arrayValue?.count == 60)
    #expect(fast.body == slow.body)
    #expect(plainRequests == 60)
    #expect(hedged.upstreamRequests["getEventById"] > 60)
    #expect(try Self.counter("upstream_hedges_total", of: hedged) > 0)
  }

  /// A spent budget (here: none at all) sends no hedge; every late fetch it
  /// refused is counted.
  @Test func aSpentBudgetRefusesHedgesAndCountsThem() throws {
    let stack = try Self.stack(
      eventDelayMs: 20, slowRate: 0.1, slowDelayMs: 1_500, hedging: true, afterMs: 100,
      budgetPercent: 0)
    defer { stack.stop() }
    #expect(try stack.get("/getEventsByUserId/many").status == 200)
    #expect(stack.upstreamRequests["getEventById"] == 60)
    #expect(try Self.counter("upstream_hedges_total", of: stack) == 0)
    #expect(try Self.counter("upstream_hedges_refused_total", of: stack) > 0)
  }

  /// Off (the default), nothing is hedged.
  @Test func offByDefault() {
    #expect(ServiceConfig().hedging.enabled == false)
  }
}
