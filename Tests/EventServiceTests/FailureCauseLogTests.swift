import Libevent
import Logging
import Telemetry
import Testing

@testable import EventService

/// The request log names why upstream attempts failed or were not made
/// (`upstream_failures`, a count of each cause) and, for a 5xx answer, the
/// last cause (`upstream_cause`). In memory, on a manual clock.
@Suite("Failure causes in the request log")
struct FailureCauseLogTests {
  static let event = #"{"name":"x","userId":1}"#

  /// The request line's failure counts and last cause.
  static func causes(_ service: InMemoryService) -> (counts: [String: String], last: String?) {
    guard let line = service.logs.requests.last else { return ([:], nil) }
    var counts: [String: String] = [:]
    if case .dictionary(let members)? = line.metadata["upstream_failures"] {
      for (key, value) in members { counts[key] = value.description }
    }
    return (counts, line.metadata["upstream_cause"]?.description)
  }

  @Test func eachFailedAttemptIsCountedAndA502NamesTheLast() {
    let service = InMemoryService()  // two retries
    let read = service.get("/getUsers")
    service.transport.fail(.timeout)
    service.clock.advance(byMs: 10)
    service.transport.fail(.timeout)
    service.clock.advance(byMs: 10)
    service.transport.answer(503, "{}")
    #expect(read.status == 502)
    let (counts, last) = Self.causes(service)
    #expect(counts == ["timeout": "2", "status_5xx": "1"])
    #expect(last == "status_5xx")
  }

  @Test func aReadThatSucceededAfterARetryNamesTheFailureButNoCause() {
    let service = InMemoryService()
    let read = service.get("/getUsers")
    service.transport.fail(.closed)
    service.clock.advance(byMs: 10)
    service.transport.answer(200, "[]")
    #expect(read.status == 200)
    let (counts, last) = Self.causes(service)
    #expect(counts == ["connection_closed": "1"])
    #expect(last == nil)
  }

  @Test func aCleanReadHasNoFailureFields() {
    let service = InMemoryService()
    service.get("/getUsers")
    service.transport.answer(200, "[]")
    let line = service.logs.requests.last
    #expect(line?.level == .info)
    #expect(line?.metadata["upstream_failures"] == nil && line?.metadata["upstream_cause"] == nil)
  }

  @Test(arguments: [
    (ClientFailure.connect, "refused"), (.dns("Name or service not known"), "dns_error"),
    (.tls("certificate verify failed"), "tls_error"), (.invalidResponse, "malformed_body"),
    (.tooLarge, "too_large"),
  ])
  func transportFailuresAreNamed(_ failure: ClientFailure, _ cause: String) {
    let service = InMemoryService { $0.retry = .init(retries: 0, baseMs: 10, maxMs: 10) }
    let read = service.get("/getUsers")
    service.transport.fail(failure)
    #expect(read.status == 502)
    #expect(Self.causes(service).last == cause)
  }

  @Test func aBodyThatIsNotTheRoutesJSONIsMalformed() {
    let service = InMemoryService { $0.retry = .init(retries: 0, baseMs: 10, maxMs: 10) }
    service.get("/getUsers")
    service.transport.answer(200, "{not json")
    #expect(Self.causes(service) == (["malformed_body": "1"], "malformed_body"))
  }

  @Test func aRetryTheBudgetRefusesIsNamed() {
    let service = InMemoryService {
      $0.retryBudget = .init(percent: 0, minPerSecond: 0, windowMs: 10_000)
    }
    let read = service.get("/getUsers")
    service.transport.fail(.timeout)
    #expect(read.status == 502)
    #expect(Self.causes(service) == (["timeout": "1", "budget_refused": "1"], "budget_refused"))
  }

  @Test func aReadPastItsDeadlineNamesTheDeadline() {
    let service = InMemoryService { $0.requestTimeoutMs = 500 }
    let read = service.get("/getEventsByUserId/1")
    service.clock.advance(byMs: 500)
    #expect(read.status == 504)
    #expect(Self.causes(service) == (["deadline": "1"], "deadline"))
  }

  @Test func aFanOutCountsTheFailuresOfEveryFetch() {
    let service = InMemoryService { $0.retry = .init(retries: 0, baseMs: 10, maxMs: 10) }
    let read = service.get("/getEventsByUserId/1")
    service.transport.answer(200, #"{"id":1,"events":["a","b"]}"#)
    service.transport.fail(.timeout)
    #expect(read.status == 502)
    #expect(Self.causes(service) == (["timeout": "1"], "timeout"))
  }

  @Test func aWriteRefusedByTheOpenBreakerNamesIt() {
    let service = InMemoryService()
    for _ in 0..<3 {
      service.post(Self.event)
      service.transport.fail(.connect)
    }
    #expect(Self.causes(service) == (["refused": "1"], "refused"))
    let refused = service.post(Self.event)
    #expect(refused.status == 503)
    #expect(Self.causes(service) == (["breaker_open": "1"], "breaker_open"))
  }

  @Test func coalescedReadsEachHearTheSharedFetchsFailures() {
    let service = InMemoryService { $0.retry = .init(retries: 0, baseMs: 10, maxMs: 10) }
    let first = service.get("/getUsers")
    let second = service.get("/getUsers")
    #expect(service.transport.pending.count == 1)
    service.transport.fail(.closed)
    #expect(first.status == 502 && second.status == 502)
    let lines = service.logs.requests
    #expect(lines.count == 2)
    for line in lines {
      #expect(line.metadata["upstream_cause"]?.description == "connection_closed")
    }
  }

  @Test func eachFailedAttemptIsLoggedAtDebugWithItsRequestID() {
    let service = InMemoryService { $0.retry = .init(retries: 0, baseMs: 10, maxMs: 10) }
    let read = service.get("/getUsers")
    service.transport.fail(.timeout)
    let attempt = service.logs.lines.first { $0.message == "upstream attempt failed" }
    #expect(attempt?.level == .debug)
    #expect(attempt?.metadata["cause"]?.description == "timeout")
    #expect(attempt?.metadata["request_id"]?.description == read.replyHeader("X-Request-Id"))
  }

  @Test func probesAndScrapesAreLoggedAtDebug() {
    let service = InMemoryService()
    for path in ["/health", "/ready", "/metrics"] { service.get(path) }
    #expect(service.logs.requests.allSatisfy { $0.level == .debug })
  }
}

@Suite("Failure tally")
struct FailureTallyTests {
  @Test func everyCauseHasACountOfItsOwn() {
    var tally = FailureTally()
    #expect(tally.isEmpty && tally.entries.isEmpty)
    for (index, cause) in FailureCause.allCases.enumerated() {
      for _ in 0...index { tally.add(cause) }
    }
    #expect(tally.entries.map(\.count) == Array(1...FailureCause.allCases.count))
    #expect(tally.entries.map(\.cause) == FailureCause.allCases)
    #expect(tally.last == FailureCause.allCases.last)
  }

  @Test func aCountStopsAtItsMaximum() {
    var tally = FailureTally()
    for _ in 0..<70_000 { tally.add(.timeout) }
    #expect(tally.count(of: .timeout) == 65_535)
  }
}
