import MiniJSON
import Settings
import Testing

@testable import EventService

@Suite("GET /getUsers, /getEvents, /health, /metrics over real HTTP")
struct ReadEndpointsTests {
  @Test func getUsersPassesTheMockArrayThrough() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/getUsers")
    #expect(response.status == 200)
    #expect(response.header("Content-Type") == "application/json; charset=utf-8")
    #expect(response.json == (try JSONValue.parse(Self.seedUsers)))
  }

  @Test func getEventsPassesTheMockArrayThrough() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/getEvents")
    #expect(response.status == 200)
    #expect(response.json == (try JSONValue.parse(Self.seedEvents)))
  }

  /// The original API's data, verbatim and in order, quirks included.
  static let seedUsers = """
    [{"userName":"user1","id":1,"email":"hello@gmail.com","events":["event-1","event-3"]},
     {"userName":"user2","id":2,"email":"hello2@gmail.com","events":["event-2"]},
     {"userName":"user3","id":2,"email":"hello3@gmail.com","events":["event-4"]}]
    """
  static let seedEvents = """
    [{"id":1,"name":"Event 1","userId":1,"details":"This is the first event"},
     {"id":1,"name":"Event 2","userId":2,"details":"This is the first event"},
     {"id":1,"name":"Event 1","userId":1,"details":"This is the first event"},
     {"id":1,"name":"Event 4","userId":3,"details":"This is the first event"}]
    """

  @Test func droppedConnectionsAreRetriedThen502() throws {
    let stack = try ServiceStack.withMock { $0.mock.errorRate = 1 }
    defer { stack.stop() }
    for path in ["/getUsers", "/getEvents"] {
      let response = try stack.get(path)
      #expect(response.status == 502)
      #expect(response.errorCode == "upstream_unavailable")
    }
    // One attempt plus GET_RETRIES (2) retries each.
    #expect(stack.upstreamRequests["getUsers"] == 3)
    #expect(stack.upstreamRequests["getEvents"] == 3)
  }

  @Test func aRetryRecoversFromOneDroppedConnection() throws {
    let calls = Tally()
    let stack = try ServiceStack.withScript { _, path, _ in
      calls.add(path)
      return calls[path] == 1 ? ScriptedReply(drop: true) : ScriptedReply(body: "[1,2]")
    }
    defer { stack.stop() }
    let response = try stack.get("/getUsers")
    #expect(response.status == 200)
    #expect(response.text == "[1,2]")
    #expect(stack.upstreamRequests["GET /getUsers"] == 2)
  }

  @Test func upstreamDownGives502() throws {
    let stack = try ServiceStack.withMock { config in
      config.mock.enabled = false
      config.apiBase = UpstreamAddress(host: "127.0.0.1", port: 1)
    }
    defer { stack.stop() }
    let response = try stack.get("/getUsers")
    #expect(response.status == 502)
    #expect(response.errorCode == "upstream_unavailable")
    #expect(response.json?["message"]?.stringValue?.contains("refused") == true)
  }

  /// A host name is resolved through evdns (the hosts file), never a blocking lookup.
  @Test func upstreamByHostName() throws {
    let stack = try ServiceStack.withScript {
      $0.apiBase.host = "localhost"
    } script: { _, _, _ in
      ScriptedReply(body: "[]")
    }
    defer { stack.stop() }
    let response = try stack.get("/getUsers")
    #expect(response.status == 200)
    #expect(stack.upstreamRequests["GET /getUsers"] == 1)
  }

  @Test func healthShowsAClosedBreaker() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/health")
    #expect(response.status == 200)
    #expect(
      response.text
        == #"{"status":"ok","upstream":"embedded-mock","breaker":{"state":"CLOSED","failuresInWindow":0,"retryAfterMs":null},"retryBudget":{"windowMs":10000,"firstAttempts":0,"retries":0,"available":100},"idempotencyStore":{"kind":"memory","state":"ok"}}"#
    )
  }

  @Test func headAnswersHeadersWithoutABody() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.send(TestRequest(method: "HEAD", path: "/health"))
    #expect(response.status == 200)
    #expect(response.body.isEmpty)
  }

  /// `Date` and `Content-Length` are set by the service, not by evhttp:
  /// each reply still carries exactly one of each, and they are right.
  @Test func repliesCarryOneDateAndAnExactContentLength() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    for path in ["/health", "/getUsers", "/nope"] {
      let response = try stack.get(path)
      #expect(response.headers.filter { $0.0.lowercased() == "date" }.count == 1)
      #expect(response.headers.filter { $0.0.lowercased() == "content-length" }.count == 1)
      #expect(response.header("Content-Length") == String(response.body.count))
      let date = try #require(response.header("Date"))
      // IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
      #expect(
        date.wholeMatch(
          of:
            #/(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT/#
        ) != nil, "\(date)")
    }
    let head = try stack.send(TestRequest(method: "HEAD", path: "/health"))
    #expect(head.header("Content-Length") == nil)
  }

  @Test func metricsAreInPrometheusTextFormat() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    _ = try stack.get("/getUsers")
    _ = try stack.get("/nope")
    let response = try stack.get("/metrics")
    #expect(response.status == 200)
    #expect(response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
    let text = response.text
    #expect(text.contains(#"event_service_http_requests_total{route="/getUsers",status="200"} 1"#))
    #expect(text.contains(#"event_service_http_requests_total{route="unmatched",status="404"} 1"#))
    #expect(
      text.contains(#"event_service_upstream_requests_total{route="getUsers",outcome="success"} 1"#)
    )
    #expect(text.contains("event_service_http_request_duration_seconds_bucket"))
    #expect(text.contains(#"event_service_breaker_state{breaker="write",state="CLOSED"} 1"#))
  }
}
