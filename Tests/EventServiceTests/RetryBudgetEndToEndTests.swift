import Testing

@testable import EventService

/// The retry budget over real HTTP, against the embedded mock.
@Suite("Retry budget over real HTTP")
struct RetryBudgetEndToEndTests {
  /// Every upstream connection dropped, no reserve: retries are held to 20 %
  /// of first attempts, so the upstream sees about 1.2 attempts per request
  /// instead of 3, and every request still ends in a 502.
  @Test func aDeadUpstreamGetsAboutOnePointTwoAttemptsPerRequest() throws {
    let stack = try ServiceStack.withMock {
      $0.mock.errorRate = 1
      $0.retryBudget = .init(percent: 20, minPerSecond: 0, windowMs: 10_000)
    }
    defer { stack.stop() }
    let requests = 50
    for _ in 0..<requests {
      #expect(try stack.get("/getUsers").status == 502)
    }
    let attempts = stack.upstreamRequests["getUsers"]
    #expect(attempts <= requests + requests / 5)
    #expect(attempts >= requests)
    let health = try stack.get("/health").json?["retryBudget"]
    #expect(health?["firstAttempts"] == .number("\(requests)"))
    #expect(health?["retries"] == .number("\(attempts - requests)"))
    #expect(health?["available"] == .number("0"))
    let metrics = try stack.get("/metrics").text
    #expect(metrics.contains(#"event_service_upstream_retries_total{decision="refused"}"#))
  }

  /// The reserve covers a few failures whatever the traffic: the first
  /// requests against a dead upstream still get every retry.
  @Test func theReserveStillRetriesAFewFailures() throws {
    let stack = try ServiceStack.withMock { $0.mock.errorRate = 1 }
    defer { stack.stop() }
    for _ in 0..<10 { #expect(try stack.get("/getUsers").status == 502) }
    #expect(stack.upstreamRequests["getUsers"] == 30)
  }

  /// With 5 % of connections dropped (the mock's default), the budget has
  /// room for every retry they need: at least 99.9 % of GETs succeed.
  @Test func occasionalDropsAreStillRetried() throws {
    let stack = try ServiceStack.withMock { $0.mock.errorRate = 0.05 }
    defer { stack.stop() }
    let requests = 2_000
    var succeeded = 0
    for _ in 0..<requests where try stack.get("/getUsers").status == 200 { succeeded += 1 }
    #expect(succeeded * 1_000 >= requests * 999, "\(succeeded) of \(requests)")
    #expect(stack.upstreamRequests["getUsers"] > requests)
  }
}
