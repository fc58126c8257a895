import MiniJSON
import Testing
import UpstreamAccess

@testable import EventService

@Suite("GET /getEventsByUserId/:id")
struct EventsByUserTests {
  @Test func userOneGetsItsTwoEventsInOrder() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/1")
    #expect(response.status == 200)
    // The original data names event-3 "Event 1" too.
    let names = response.json?.arrayValue?.map { $0["name"]?.stringValue }
    #expect(names == ["Event 1", "Event 1"])
  }

  @Test func idIsURLDecoded() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/%31")
    #expect(response.status == 200)
    #expect(response.json?.arrayValue?.count == 2)
  }

  @Test func unknownUserIs404() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/999")
    #expect(response.status == 404)
    #expect(response.errorCode == "user_not_found")
    #expect(stack.upstreamRequests["getEventById"] == 0)
  }

  @Test(arguments: ["", "a%20b", "a!b", "%2F", "%FF", String(repeating: "a", count: 65), "..%00"])
  func invalidIdIs400WithoutUpstreamCalls(id: String) throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/" + id)
    #expect(response.status == 400, "\(id)")
    #expect(response.errorCode == "invalid_user_id")
    #expect(stack.upstreamRequests.total == 0)
  }

  @Test func sixtyFourCharactersIsStillValid() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/" + String(repeating: "a", count: 64))
    #expect(response.status == 404)
  }

  /// 200 events at 100 ms each: a loop of awaits would take 20 s.
  @Test func twoHundredEventsAnswerInAboutOneDelay() throws {
    let stack = try ServiceStack.withMock {
      $0.mock.eventDelayMs = 100
      $0.mock.extraUsers = [.init(id: "big", events: 200)]
    }
    defer { stack.stop() }
    _ = try stack.get("/getEventsByUserId/1")  // warm-up: first connections
    var response: TestResponse?
    let elapsed = try TestHTTP.milliseconds { response = try stack.get("/getEventsByUserId/big") }
    #expect(response?.status == 200)
    let events = try #require(response?.json?.arrayValue)
    #expect(events.count == 200)
    #expect(events.first?["name"] == .string("Event 1 of big"))
    #expect(events.last?["name"] == .string("Event 200 of big"))
    // Sequential fetches would take 20 s; concurrent ones about one delay.
    // The bound is that distinction with room for a loaded machine or a
    // sanitizer build, not a latency target.
    #expect(elapsed < 2_000, "took \(elapsed) ms")
    #expect(stack.upstreamRequests["getEventById"] == 202)
  }

  @Test func repeatedIdsAreFetchedOnceAndUnknownOnesLeftOut() throws {
    let stack = try ServiceStack.withScript { _, path, _ in
      switch path {
      case "/getUserById/u": ScriptedReply(body: #"{"id":"u","events":["a","b","a","gone"]}"#)
      case "/getEventById/a": ScriptedReply(body: #"{"n":"a"}"#, delayMs: 20)
      case "/getEventById/b": ScriptedReply(body: #"{"n":"b"}"#, delayMs: 10)
      default: ScriptedReply(status: 404, body: #"{"error":"not found"}"#)
      }
    }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/u")
    #expect(response.status == 200)
    #expect(response.text == #"[{"n":"a"},{"n":"b"},{"n":"a"}]"#)
    #expect(stack.upstreamRequests["GET /getEventById/a"] == 1)
    #expect(stack.upstreamRequests["GET /getEventById/gone"] == 1)
  }

  @Test func userWithoutEventsGetsAnEmptyList() throws {
    let stack = try ServiceStack.withScript { _, _, _ in
      ScriptedReply(body: #"{"id":"u","events":[]}"#)
    }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/u")
    #expect(response.status == 200)
    #expect(response.text == "[]")
  }

  /// The failing fetch answers fast; the slow ones are cancelled, not awaited.
  @Test func firstFailedFetchGives502AtOnce() throws {
    let stack = try ServiceStack.withScript { _, path, _ in
      switch path {
      case "/getUserById/u": ScriptedReply(body: #"{"events":["slow1","bad","slow2"]}"#)
      case "/getEventById/bad": ScriptedReply(status: 500, body: "{}")
      default: ScriptedReply(body: "{}", delayMs: 800)
      }
    }
    defer { stack.stop() }
    var response: TestResponse?
    let elapsed = try TestHTTP.milliseconds { response = try stack.get("/getEventsByUserId/u") }
    #expect(response?.status == 502)
    #expect(response?.errorCode == "upstream_unavailable")
    #expect(elapsed < 400, "took \(elapsed) ms")
    // The 500 was retried (GET_RETRIES = 2) before the request gave up.
    #expect(stack.upstreamRequests["GET /getEventById/bad"] == 3)
  }

  @Test func userLookupFailureGives502() throws {
    let stack = try ServiceStack.withScript { _, _, _ in ScriptedReply(status: 503, body: "{}") }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/1")
    #expect(response.status == 502)
    #expect(response.errorCode == "upstream_unavailable")
  }

  @Test func concurrentRequestsForOneUserShareUpstreamCalls() throws {
    let stack = try ServiceStack.withMock { $0.mock.eventDelayMs = 100 }
    defer { stack.stop() }
    let responses = try stack.sendAll(Array(repeating: .get("/getEventsByUserId/1"), count: 10))
    #expect(responses.allSatisfy { $0.status == 200 && $0.json?.arrayValue?.count == 2 })
    // Coalesced: far fewer than the 20 event fetches the requests asked for.
    #expect(stack.upstreamRequests["getEventById"] < 20)
  }

  /// More waiters than one loop turn serves: the shared result is handed
  /// out over several turns, and everyone still gets it, in full.
  @Test func aResultSharedByManyRequestsReachesEveryOne() throws {
    let stack = try ServiceStack.withMock { $0.mock.eventDelayMs = 200 }
    defer { stack.stop() }
    let count = UpstreamFetch.waitersPerTurn * 3 + 5
    let responses = try stack.sendAll(
      Array(repeating: .get("/getEventsByUserId/1"), count: count))
    #expect(responses.count == count)
    #expect(responses.allSatisfy { $0.status == 200 && $0.json?.arrayValue?.count == 2 })
    #expect(stack.upstreamRequests["getEventById"] < count)
  }
}

extension EventsByUserTests {
  /// Each id fetched once; every entry of the list keeps its place, both
  /// below and above the size from which ids are hashed.
  @Test(arguments: [4, 33, 200])
  func idsAreDeduplicatedInFirstSeenOrder(distinct: Int) {
    let ids = (0..<distinct).map { "e\($0)" }
    let list = ids + ids.reversed() + ["e0"]
    let (unique, order) = EventsByUserHandler.deduplicated(list)
    #expect(unique == ids)
    #expect(order.map { unique[$0] } == list)
  }
}

/// FANOUT_CONCURRENCY against the mock, which reports the most requests it
/// had at once (`GET /_mock/stats`).
@Suite("Fan-out limit")
struct FanOutLimitTests {
  static func peak(_ stack: ServiceStack) throws -> Int {
    let stats = try TestHTTP.send(.get("/_mock/stats"), port: stack.upstreamPort)
    return Int(stats.json?["peakInFlight"]?.integerText ?? "") ?? -1
  }

  @Test(arguments: [0, 1, 7])
  func atMostTheLimitIsInFlightAndTheOrderIsKept(limit: Int) throws {
    let stack = try ServiceStack.withMock {
      $0.fanoutConcurrency = limit
      $0.mock.eventDelayMs = 5
      $0.mock.extraUsers = [.init(id: "big", events: 30)]
    }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/big")
    #expect(response.status == 200)
    let names = response.json?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    #expect(names == (1...30).map { "Event \($0) of big" })
    #expect(stack.upstreamRequests["getEventById"] == 30)
    // The user lookup ended before the events started.
    let peak = try Self.peak(stack)
    if limit == 0 {
      #expect(peak <= 30 && peak > 1)
    } else {
      #expect(peak == limit)
    }
  }
}
