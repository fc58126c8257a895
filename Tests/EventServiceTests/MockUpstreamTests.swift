import MiniJSON
import Testing

@testable import EventService

/// The mock event API itself, spoken to directly over HTTP.
@Suite("The mock event API")
struct MockUpstreamTests {
  static func addEvent(_ body: String, port: Int) throws -> TestResponse {
    try TestHTTP.send(.postJSON("/addEvent", body), port: port)
  }

  /// An event sent again with the same id is acknowledged without being
  /// stored twice; the check comes before the user's.
  @Test func eventsAreDeduplicatedById() throws {
    let stack = try ServiceStack.withMock { $0.mock.okCount = 100 }
    defer { stack.stop() }
    let event = #"{"id":"dup-1","name":"once","userId":1}"#
    #expect(try Self.addEvent(event, port: stack.upstreamPort).status == 200)
    #expect(try Self.addEvent(event, port: stack.upstreamPort).status == 200)
    // Same id, a user that does not exist: still the stored event's answer.
    let unknownUser = #"{"id":"dup-1","name":"once","userId":999}"#
    #expect(try Self.addEvent(unknownUser, port: stack.upstreamPort).status == 200)
    let users = try TestHTTP.send(.get("/getUsers"), port: stack.upstreamPort).json
    let events = users?.arrayValue?.first?["events"]?.arrayValue ?? []
    #expect(events.filter { $0 == .string("dup-1") }.count == 1)
    let all = try TestHTTP.send(.get("/getEvents"), port: stack.upstreamPort).json
    #expect(all?.arrayValue?.filter { $0["id"] == .string("dup-1") }.count == 1)
  }

  /// A duplicate still counts in the OK/FAIL cycle and fails in its FAIL part.
  @Test func aDuplicateStillCountsInTheCycle() throws {
    let stack = try ServiceStack.withMock {
      $0.mock.okCount = 1
      $0.mock.failCount = 1
    }
    defer { stack.stop() }
    let event = #"{"id":"dup-2","name":"cycle","userId":1}"#
    let statuses = try (0..<3).map { _ in try Self.addEvent(event, port: stack.upstreamPort).status
    }
    #expect(statuses == [200, 503, 200])
  }

  /// SLOW_RATE 1: every event lookup takes SLOW_DELAY_MS; 0: none does.
  @Test(arguments: [(1.0, true), (0.0, false)])
  func slowRateShapesALatencyTail(rate: Double, slow: Bool) throws {
    let stack = try ServiceStack.withMock {
      $0.mock.eventDelayMs = 5
      $0.mock.slowRate = rate
      $0.mock.slowDelayMs = 300
    }
    defer { stack.stop() }
    let started = ContinuousClock.now
    let response = try TestHTTP.send(.get("/getEventById/event-1"), port: stack.upstreamPort)
    let elapsed = ContinuousClock.now - started
    #expect(response.status == 200)
    #expect((elapsed >= .milliseconds(300)) == slow, "\(elapsed)")
  }
}
