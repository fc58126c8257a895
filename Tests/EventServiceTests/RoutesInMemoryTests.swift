import Libevent
import MiniJSON
import Testing

@testable import EventService

/// The routes' behaviour with no loop and no socket (`InMemoryService`): the
/// write breaker, idempotency keys, the retry budget, the read deadline, a
/// client leaving, the read breaker with kept answers — each on a manual
/// clock, each upstream answer given by the test.
@Suite("Routes in memory (manual clock)")
struct RoutesInMemoryTests {
  static let event = #"{"name":"x","userId":1}"#
  static let stored = #"{"success":true}"#

  // MARK: - The write breaker

  @Test func threeFailedWritesOpenTheBreakerAndTheTimerHalfOpensIt() {
    let service = InMemoryService()
    for _ in 0..<3 {
      let post = service.post(Self.event)
      service.transport.answer(503, "{}")
      #expect(post.status == 503 && post.errorCode == "upstream_unavailable")
    }
    #expect(service.health?["breaker"]?["state"]?.stringValue == "OPEN")
    let refused = service.post(Self.event)
    #expect(refused.status == 503 && refused.errorCode == "circuit_open")
    #expect(refused.replyHeader("Retry-After") == "5")
    #expect(refused.json?["retryAfterMs"] == .number("5000"))
    #expect(service.transport.sent.count == 3)
    // The backoff ends on the loop's timer, with no request.
    service.clock.advance(byMs: 4_999)
    #expect(service.health?["breaker"]?["state"]?.stringValue == "OPEN")
    service.clock.advance(byMs: 1)
    #expect(service.health?["breaker"]?["state"]?.stringValue == "HALF_OPEN")
    // One probe; while it is out, the rest are refused.
    let probe = service.post(Self.event)
    #expect(service.post(Self.event).errorCode == "circuit_open")
    service.transport.answer(200, Self.stored)
    #expect(probe.status == 200)
    #expect(service.health?["breaker"]?["state"]?.stringValue == "CLOSED")
  }

  @Test func aWriteThatTimesOutIsABreakerFailure() {
    let service = InMemoryService()
    let post = service.post(Self.event)
    service.transport.fail(.timeout)
    #expect(post.status == 503)
    #expect(service.health?["breaker"]?["failuresInWindow"] == .number("1"))
  }

  // MARK: - Idempotency keys

  @Test func aKeyReplaysItsAnswerWithoutAnotherUpstreamCall() throws {
    let service = InMemoryService()
    let first = service.post(Self.event, key: "k-1")
    // While the first is out: 409.
    let busy = service.post(Self.event, key: "k-1")
    #expect(busy.status == 409 && busy.errorCode == "request_in_progress")
    service.transport.answer(200, Self.stored)
    #expect(first.status == 200)
    let replay = service.post(Self.event, key: "k-1")
    #expect(replay.status == 200)
    #expect(replay.replyHeader("Idempotent-Replayed") == "true")
    #expect(replay.json?["id"] == first.json?["id"])
    #expect(service.transport.sent.count == 1)
    // The same key with another body: 422, nothing sent.
    let other = service.post(#"{"name":"other","userId":1}"#, key: "k-1")
    #expect(other.status == 422 && other.errorCode == "idempotency_key_reused")
    #expect(service.transport.sent.count == 1)
  }

  @Test func aFailedWriteIsSentAgainWithTheSameID() throws {
    let service = InMemoryService()
    let first = service.post(Self.event, key: "k-2")
    service.transport.answer(503, "{}")
    #expect(first.status == 503)
    let again = service.post(Self.event, key: "k-2")
    service.transport.answer(200, Self.stored)
    #expect(again.status == 200)
    let ids = try service.transport.sent.map {
      try JSONValue.parse($0.body)["id"]?.stringValue
    }
    #expect(ids.count == 2 && ids[0] == ids[1] && ids[0] != nil)
  }

  // MARK: - Retries and the budget

  /// Every attempt fails and there is no reserve: retries are held to 20 %
  /// of first attempts, and every read ends in a 502.
  @Test func aDeadUpstreamGetsAboutOnePointTwoAttemptsPerRead() {
    let service = InMemoryService {
      $0.retryBudget = .init(percent: 20, minPerSecond: 0, windowMs: 10_000)
    }
    let reads = 50
    for _ in 0..<reads {
      let read = service.get("/getUsers")
      while read.status == nil {
        if service.transport.pending.isEmpty {
          service.clock.advance(byMs: 10)
        } else {
          service.transport.fail(.closed)
        }
      }
      #expect(read.status == 502)
    }
    let attempts = service.transport.sent.count
    #expect(attempts >= reads && attempts <= reads + reads / 5)
    let budget = service.health?["retryBudget"]
    #expect(budget?["firstAttempts"] == .number("\(reads)"))
    #expect(budget?["retries"] == .number("\(attempts - reads)"))
  }

  // MARK: - The read deadline, and a client leaving

  @Test func aReadIsAnswered504AtItsDeadlineAndItsCallCancelled() {
    let service = InMemoryService { $0.requestTimeoutMs = 500 }
    let read = service.get("/getEventsByUserId/1")
    service.clock.advance(byMs: 499)
    #expect(read.status == nil)
    service.clock.advance(byMs: 1)
    #expect(read.status == 504 && read.errorCode == "upstream_timeout")
    #expect(service.transport.pending.isEmpty && service.transport.cancelled == 1)
  }

  @Test func aClientLeavingCancelsItsFanOut() {
    let service = InMemoryService()
    let read = service.get("/getEventsByUserId/1")
    service.transport.answer(200, #"{"id":1,"events":["a","b"]}"#)
    #expect(service.transport.pending.count == 2)
    read.hangUp()
    #expect(service.transport.pending.isEmpty && service.transport.cancelled == 2)
    #expect(service.metricsText.contains(#"status="499""#))
    // Its deadline passes with nothing left to do.
    service.clock.advance(byMs: 20_000)
    #expect(read.status == nil)
  }

  // MARK: - The read breaker and kept answers

  @Test func theReadBreakerServesKeptAnswersUntilAProbeSucceeds() {
    let service = InMemoryService {
      $0.readBreakerEnabled = true
      $0.staleIfErrorMs = 60_000
      $0.retry.retries = 0
    }
    let fresh = service.get("/getUsers")
    service.transport.answer(200, "[1]")
    #expect(fresh.replyHeader("Cache-Status") == "event-service; fwd=miss")
    service.clock.advance(byMs: 3_000)
    for _ in 0..<3 {
      let stale = service.get("/getUsers")
      service.transport.fail(.closed)
      #expect(stale.status == 200 && stale.text == "[1]")
      #expect(stale.replyHeader("Cache-Status") == "event-service; hit; detail=stale")
      #expect(stale.replyHeader("Age") == "3")
    }
    #expect(service.health?["readBreaker"]?["state"]?.stringValue == "OPEN")
    let sent = service.transport.sent.count
    #expect(service.get("/getUsers").status == 200)
    #expect(service.get("/getEvents").errorCode == "circuit_open")
    #expect(service.transport.sent.count == sent)
    // After the backoff, one read is the probe; its success closes it.
    service.clock.advance(byMs: 5_000)
    let probe = service.get("/getUsers")
    service.transport.answer(200, "[2]")
    #expect(probe.text == "[2]")
    #expect(service.health?["readBreaker"]?["state"]?.stringValue == "CLOSED")
  }

  @Test func pastMaxInflightReadsAreShedAndTheSlotComesBack() {
    let service = InMemoryService { $0.maxInflight = 1 }
    let first = service.get("/getUsers")
    let shed = service.get("/getUsers")
    #expect(shed.status == 503 && shed.errorCode == "overloaded")
    #expect(shed.replyHeader("Retry-After") == "1")
    #expect(service.get("/health").status == 200)
    service.transport.answer(200, "[]")
    #expect(first.status == 200)
    let again = service.get("/getUsers")
    service.transport.answer(200, "[]")
    #expect(again.status == 200)
  }

  // MARK: - Readiness

  @Test func readyUntilTheDrainStartsThenDraining() {
    let service = InMemoryService { $0.maxInflight = 1 }
    let ready = service.get("/ready")
    #expect(ready.status == 200 && ready.text == #"{"status":"ready"}"#)
    // A probe: never shed, even with every slot taken.
    _ = service.get("/getUsers")
    #expect(service.get("/ready").status == 200)
    service.context.isDraining = true
    let draining = service.get("/ready")
    #expect(draining.status == 503 && draining.text == #"{"status":"draining"}"#)
    // Liveness is another question.
    #expect(service.get("/health").status == 200)
  }
}
