import Testing

@testable import EventService

/// The retry budget over real HTTP, against the embedded mock. (How it
/// holds retries to a share of first attempts is tested in memory:
/// `RoutesInMemoryTests`, `UpstreamClientTests`.)
@Suite("Retry budget over real HTTP")
struct RetryBudgetEndToEndTests {
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
