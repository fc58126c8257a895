import Libevent
import Resilience
import Telemetry
import Testing
import UpstreamAccess

@testable import EventService

/// Jitter at its ceiling: each backoff is exactly its ceiling.
private struct Ceiling: RandomNumberGenerator {
  mutating func next() -> UInt64 { .max }
}

/// The upstream client on an in-memory transport and a manual clock:
/// retries, the budget, coalescing, hedging and the deadline, with no
/// socket and no wall clock.
@Suite("UpstreamClient (in memory, manual clock)")
struct UpstreamClientTests {
  let transport = FakeTransport()
  let clock = ManualScheduler(nowMs: 1_000)
  let metrics = ServiceMetrics()

  /// Backoff ceilings 100, 200 ms; attempts time out after 2 s.
  func client(
    retries: Int = 2,
    budget: RetryBudget.Settings = .init(percent: 20, minPerSecond: 10, windowMs: 10_000),
    hedgeAfterMs: Int64? = nil, coalesce: Bool = true, caching: CacheSettings = CacheSettings()
  ) -> UpstreamClient {
    var hedging = HedgeSettings()
    if let hedgeAfterMs {
      hedging.enabled = true
      hedging.afterMs = hedgeAfterMs
      hedging.budgetPercent = 100
    }
    return UpstreamClient(
      transport: transport, clock: clock, basePath: "/v1",
      policy: FetchPolicy(
        backoff: RetryBackoff(retries: retries, baseMs: 100, maxMs: 1_000), budget: budget,
        hedging: hedging, attemptTimeoutMs: 2_000, random: Ceiling()),
      caching: caching, coalesce: coalesce, metrics: metrics)
  }

  func caller(deadlineInMs: Int64? = nil, breakerOpenForMs: Int64? = nil) -> UpstreamCaller {
    var random = SystemRandomNumberGenerator()
    return UpstreamCaller(
      requestID: "r1", trace: TraceContext(traceparent: nil, random: &random),
      deadlineUs: deadlineInMs.map { clock.nowUs + $0 * 1_000 }, breakerOpenForMs: breakerOpenForMs)
  }

  /// Collects what a GET delivers.
  final class Outcome {
    var results: [UpstreamResult] = []
    var statuses: [Int?] {
      results.map {
        switch $0 {
        case .success(let response), .refused(let response): response.status
        case .failure: nil
        }
      }
    }
    var cacheUses: [CacheUse?] {
      results.map {
        if case .success(let response) = $0 { response.cacheUse } else { nil }
      }
    }
    var failure: UpstreamFailure? {
      if case .failure(let failure)? = results.last { failure } else { nil }
    }
    func take(_ result: UpstreamResult) { results.append(result) }
  }

  func metric(_ line: String) -> Bool {
    String(decoding: metrics.render(), as: UTF8.self).contains(line)
  }

  @Test func aFailedAttemptIsRetriedAfterItsBackoff() {
    let client = client()
    let outcome = Outcome()
    _ = client.getUsers(for: caller(), outcome.take)
    #expect(transport.sent.map(\.path) == ["/v1/getUsers"])
    transport.fail(.timeout)
    #expect(transport.pending.isEmpty && outcome.results.isEmpty)
    clock.advance(byMs: 99)
    #expect(transport.sent.count == 1)
    clock.advance(byMs: 1)
    #expect(transport.sent.count == 2)
    transport.answer(200, "[]")
    #expect(outcome.statuses == [200])
    #expect(metric(#"event_service_upstream_retries_total{decision="allowed"} 1"#))
  }

  @Test func retriesUsedUpDeliverTheLastFailure() {
    let client = client(retries: 1)
    let outcome = Outcome()
    _ = client.getUsers(for: caller(), outcome.take)
    transport.fail(.closed)
    clock.advance(byMs: 100)
    transport.answer(503, "")
    #expect(transport.sent.count == 2)
    #expect(outcome.failure == .status(503))
  }

  @Test func aFourHundredIsAnAnswerNotRetried() {
    let client = client()
    let outcome = Outcome()
    _ = client.getUser(id: "x", for: caller(), outcome.take)
    transport.answer(404, #"{"error":"no"}"#)
    #expect(outcome.statuses == [404])
    #expect(transport.sent.count == 1)
  }

  @Test func aMalformedBodyIsAFailureAndRetried() {
    let client = client()
    let outcome = Outcome()
    _ = client.getUsers(for: caller(), outcome.take)
    transport.answer(200, "{not json")
    clock.advance(byMs: 100)
    transport.answer(200, "[1]")
    #expect(outcome.statuses == [200])
  }

  @Test func theBudgetRefusesAndIsCounted() {
    let client = client(budget: .init(percent: 0, minPerSecond: 0, windowMs: 10_000))
    let outcome = Outcome()
    _ = client.getUsers(for: caller(), outcome.take)
    transport.fail(.connect)
    #expect(outcome.failure == .transport(.connect))
    #expect(transport.sent.count == 1)
    #expect(metric(#"event_service_upstream_retries_total{decision="refused"} 1"#))
  }

  @Test func identicalGetsShareOneRequest() {
    let client = client()
    let first = Outcome()
    let second = Outcome()
    _ = client.getEvent(id: "7", for: caller(), first.take)
    _ = client.getEvent(id: "7", for: caller(), second.take)
    #expect(transport.sent.count == 1)
    transport.answer(200, #"{"id":"7"}"#)
    #expect(first.statuses == [200] && second.statuses == [200])
  }

  @Test func theLastWaiterLeavingCancelsTheRequest() {
    let client = client()
    let first = Outcome()
    let second = Outcome()
    let a = client.getEvent(id: "7", for: caller(), first.take)
    let b = client.getEvent(id: "7", for: caller(), second.take)
    a.cancel()
    #expect(transport.cancelled == 0)
    b.cancel()
    #expect(transport.cancelled == 1 && transport.pending.isEmpty)
    #expect(first.results.isEmpty && second.results.isEmpty)
    // A new GET for the same path is a new fetch.
    _ = client.getEvent(id: "7", for: caller(), first.take)
    #expect(transport.sent.count == 2)
  }

  @Test func leavingWhileBackingOffStopsTheRetry() {
    let client = client()
    let outcome = Outcome()
    let handle = client.getUsers(for: caller(), outcome.take)
    transport.fail(.timeout)
    #expect(clock.armedCount == 1)
    handle.cancel()
    #expect(clock.armedCount == 0)
    clock.advance(byMs: 1_000)
    #expect(transport.sent.count == 1 && outcome.results.isEmpty)
  }

  @Test func aFailureFoundAtOnceIsRetriedLikeAnyOther() {
    let client = client()
    let outcome = Outcome()
    transport.failAtOnce = .connect
    _ = client.getUsers(for: caller(), outcome.take)
    #expect(outcome.results.isEmpty && clock.armedCount == 1)
    transport.failAtOnce = nil
    clock.advance(byMs: 100)
    transport.answer(200, "[]")
    #expect(outcome.statuses == [200])
  }

  @Test func anAttemptGetsOnlyTheTimeLeft() {
    let client = client()
    _ = client.getUsers(for: caller(deadlineInMs: 500), Outcome().take)
    #expect(transport.sent.last?.timeoutMs == 500)
    _ = client.getEvents(for: caller(deadlineInMs: 60_000), Outcome().take)
    #expect(transport.sent.last?.timeoutMs == 2_000)
  }

  @Test func noRetryPastTheDeadline() {
    let client = client()
    let outcome = Outcome()
    _ = client.getUsers(for: caller(deadlineInMs: 150), outcome.take)
    clock.advance(byMs: 60)
    transport.fail(.timeout)
    // The 100 ms backoff would end at 160 ms: past the deadline.
    #expect(outcome.failure == .deadline)
    #expect(transport.sent.count == 1)
  }

  @Test func aLateHedgeIsSentAndTheFirstAnswerWins() {
    let client = client(hedgeAfterMs: 80, coalesce: false)
    let outcome = Outcome()
    _ = client.getEvent(id: "1", for: caller(), outcome.take)
    clock.advance(byMs: 79)
    #expect(transport.sent.count == 1)
    clock.advance(byMs: 1)
    #expect(transport.sent.count == 2 && transport.pending.count == 2)
    transport.answer(200, #"{"id":"1"}"#, path: "/v1/getEventById/1")
    #expect(outcome.statuses == [200])
    #expect(transport.cancelled == 1 && transport.pending.isEmpty)
    #expect(metric("event_service_upstream_hedges_total 1"))
  }

  @Test func aFailedAttemptWaitsForItsHedge() {
    let client = client(hedgeAfterMs: 80, coalesce: false)
    let outcome = Outcome()
    _ = client.getEvent(id: "1", for: caller(), outcome.take)
    clock.advance(byMs: 80)
    transport.fail(.closed)
    #expect(outcome.results.isEmpty)
    transport.answer(200, #"{"id":"1"}"#)
    #expect(outcome.statuses == [200])
    #expect(transport.sent.count == 2)
  }

  @Test func aFetchAnsweredBeforeTheHedgeIsDueSendsNoHedge() {
    let client = client(hedgeAfterMs: 80, coalesce: false)
    let outcome = Outcome()
    _ = client.getEvent(id: "1", for: caller(), outcome.take)
    transport.answer(200, #"{"id":"1"}"#)
    clock.advance(byMs: 1_000)
    #expect(transport.sent.count == 1 && outcome.statuses == [200])
    #expect(clock.armedCount == 0)
  }

  @Test func onlyEventFetchesAreHedged() {
    let client = client(hedgeAfterMs: 80, coalesce: false)
    _ = client.getUsers(for: caller(), Outcome().take)
    clock.advance(byMs: 1_000)
    #expect(transport.sent.count == 1)
  }

  @Test func aPostIsSentOnceWithTheTimeLeft() {
    let client = client()
    let outcome = Outcome()
    client.addEvent(Array(#"{"id":"e"}"#.utf8), for: caller(deadlineInMs: 700), outcome.take)
    #expect(transport.sent.last?.method == .post && transport.sent.last?.timeoutMs == 700)
    transport.fail(.timeout)
    #expect(outcome.failure == .transport(.timeout))
    clock.advance(byMs: 1_000)
    #expect(transport.sent.count == 1)
  }

  // MARK: - Kept answers

  static let stale = CacheSettings(staleIfErrorMs: 60_000, maxBytes: 1_000)

  @Test func withTheCacheOnAnAnswerIsMarkedAMiss() {
    let client = client(caching: Self.stale)
    let outcome = Outcome()
    _ = client.getUsers(for: caller(), outcome.take)
    transport.answer(200, "[1]")
    #expect(outcome.cacheUses == [.miss])
    #expect(metric(#"event_service_cache_requests_total{route="getUsers",result="miss"} 1"#))
  }

  @Test func aFailedGetGetsTheKeptAnswerWithItsAge() {
    let client = client(retries: 0, caching: Self.stale)
    let outcome = Outcome()
    _ = client.getUsers(for: caller(), outcome.take)
    transport.answer(200, "[1]")
    clock.advance(byMs: 2_500)
    _ = client.getUsers(for: caller(), outcome.take)
    transport.fail(.connect)
    #expect(outcome.cacheUses == [.miss, .stale(ageMs: 2_500)])
    #expect(outcome.statuses == [200, 200])
    #expect(metric(#"event_service_cache_requests_total{route="getUsers",result="stale"} 1"#))
  }

  @Test func aKeptAnswerTooOldIsNotServed() {
    let client = client(retries: 0, caching: Self.stale)
    let outcome = Outcome()
    _ = client.getUsers(for: caller(), outcome.take)
    transport.answer(200, "[1]")
    clock.advance(byMs: 60_001)
    _ = client.getUsers(for: caller(), outcome.take)
    transport.fail(.connect)
    #expect(outcome.failure == .transport(.connect))
  }

  @Test func refusalsAndErrorsAreNeverKept() {
    let client = client(retries: 0, caching: Self.stale)
    let outcome = Outcome()
    _ = client.getUser(id: "9", for: caller(), outcome.take)
    transport.answer(404, "{}")
    _ = client.getUser(id: "9", for: caller(), outcome.take)
    transport.answer(500, "{}")
    #expect(outcome.statuses == [404, nil])
  }

  @Test func aFreshHitIsServedWithoutAsking() {
    let client = client(caching: CacheSettings(ttlMs: 1_000, maxBytes: 1_000))
    let outcome = Outcome()
    _ = client.getEvent(id: "3", for: caller(), outcome.take)
    transport.answer(200, #"{"id":"3"}"#)
    clock.advance(byMs: 400)
    _ = client.getEvent(id: "3", for: caller(), outcome.take)
    #expect(transport.sent.count == 1)
    clock.advance(byMs: 601)
    _ = client.getEvent(id: "3", for: caller(), outcome.take)
    #expect(transport.sent.count == 2)
    transport.answer(200, #"{"id":"3"}"#)
    #expect(outcome.cacheUses == [.miss, .hit(ageMs: 400), .miss])
  }

  @Test func whileTheReadBreakerIsOpenOnlyKeptAnswersAreServed() {
    let client = client(caching: Self.stale)
    let outcome = Outcome()
    _ = client.getUsers(for: caller(), outcome.take)
    transport.answer(200, "[1]")
    _ = client.getUsers(for: caller(breakerOpenForMs: 4_000), outcome.take)
    _ = client.getEvents(for: caller(breakerOpenForMs: 4_000), outcome.take)
    #expect(transport.sent.count == 1)
    #expect(outcome.cacheUses == [.miss, .stale(ageMs: 0), nil])
    #expect(outcome.failure == .breakerOpen(retryAfterMs: 4_000))
  }

  @Test func withoutKeptAnswersAnOpenReadBreakerRefusesAtOnce() {
    let client = client()
    let outcome = Outcome()
    _ = client.getUsers(for: caller(breakerOpenForMs: 1_500), outcome.take)
    #expect(transport.sent.isEmpty)
    #expect(outcome.failure == .breakerOpen(retryAfterMs: 1_500))
  }
}
