import MiniJSON
import Testing

@testable import EventService

@Suite("POST /addEvent over real HTTP")
struct AddEventTests {
  @Test func validEventIsStoredWithAUniqueId() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.postJSON(#"{"name":"Launch","userId":1,"details":"extra field kept"}"#)
    #expect(response.status == 200)
    #expect(response.json?["success"] == .bool(true))
    let id = try #require(response.json?["id"]?.stringValue)
    #expect(id.count == 36)
    let events = try #require(try stack.get("/getEventsByUserId/1").json?.arrayValue)
    let stored = try #require(events.last)
    #expect(stored["id"] == .string(id))
    #expect(stored["details"] == .string("extra field kept"))
    #expect(stored["name"] == .string("Launch"))
  }

  @Test func stringUserIdAndCharsetAreAccepted() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.postJSON(
      #"{"name":"x","userId":"2"}"#, contentType: "Application/JSON; charset=utf-8")
    #expect(response.status == 200)
  }

  @Test func idsAreUniqueAcrossConcurrentRequests() throws {
    let stack = try ServiceStack.withMock { $0.mock.okCount = 100 }
    defer { stack.stop() }
    let request = TestRequest.postJSON("/addEvent", #"{"name":"x","userId":3}"#)
    let responses = try stack.sendAll(Array(repeating: request, count: 40))
    let ids = responses.compactMap { $0.json?["id"]?.stringValue }
    #expect(responses.allSatisfy { $0.status == 200 })
    #expect(Set(ids).count == 40)
  }

  @Test func unknownUserIsTheUpstreams404() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.postJSON(#"{"name":"x","userId":"nobody"}"#)
    #expect(response.status == 404)
    #expect(response.errorCode == "upstream_rejected")
  }

  @Test(
    arguments: [
      (nil, "{}", 415, "unsupported_media_type"),
      ("text/plain", #"{"name":"x","userId":1}"#, 415, "unsupported_media_type"),
      ("application/jsonx", #"{"name":"x","userId":1}"#, 415, "unsupported_media_type"),
      ("application/json", "", 400, "empty"),
      ("application/json", "{", 400, "not valid JSON"),
      ("application/json", "[1]", 400, "JSON object"),
      ("application/json", "null", 400, "JSON object"),
      ("application/json", #"{"userId":1}"#, 400, "name"),
      ("application/json", #"{"name":"","userId":1}"#, 400, "name"),
      ("application/json", #"{"name":7,"userId":1}"#, 400, "name"),
      (
        "application/json", #"{"name":"\#(String(repeating: "é", count: 201))","userId":1}"#, 400,
        "name"
      ),
      ("application/json", #"{"name":"x"}"#, 400, "userId"),
      ("application/json", #"{"name":"x","userId":""}"#, 400, "userId"),
      ("application/json", #"{"name":"x","userId":1.5}"#, 400, "userId"),
      ("application/json", #"{"name":"x","userId":1e3}"#, 400, "userId"),
      ("application/json", #"{"name":"x","userId":true}"#, 400, "userId"),
      ("application/json", #"{"name":"x","userId":null}"#, 400, "userId"),
      ("application/json", #"{"name":"x","userId":{}}"#, 400, "userId"),
      ("application/json", #"{"name":"x","userId":[1]}"#, 400, "userId"),
      ("application/json", #"{"name":"ok","userId":1,"name":""}"#, 400, #"duplicate key "name""#),
      (
        "application/json", #"{"name":"ok","userId":1,"userId":{"x":1}}"#, 400,
        #"duplicate key "userId""#
      ),
      ("application/json", #"{"name":"ok","userId":1,"x":{"y":1,"y":1}}"#, 400, "duplicate key"),
      ("application/json", #"{"name":"\udc00","userId":1}"#, 400, "lone surrogate"),
    ] as [(String?, String, Int, String)])
  func badRequestsNeverReachTheUpstream(
    contentType: String?, body: String, status: Int, mention: String
  ) {
    // In memory: the route, with no socket.
    let service = InMemoryService()
    let response = service.post(body, contentType: contentType)
    #expect(response.status == status)
    if status == 400 {
      #expect(response.errorCode == "invalid_body")
      #expect(response.json?["message"]?.stringValue?.contains(mention) == true, "\(response.text)")
    } else {
      #expect(response.errorCode == mention)
    }
    #expect(service.transport.sent.isEmpty)
  }

  @Test func oversizedBodyIs413() throws {
    let stack = try ServiceStack.withMock { $0.maxBodyBytes = 1_000 }
    defer { stack.stop() }
    let big = #"{"name":"x","userId":1,"pad":""# + String(repeating: "a", count: 2_000) + #""}"#
    let response = try stack.postJSON(big)
    #expect(response.status == 413)
    #expect(response.errorCode == "payload_too_large")
    let exact =
      #"{"name":"x","userId":1,"pad":""# + String(repeating: "a", count: 1_000 - 32) + #""}"#
    #expect(exact.utf8.count == 1_000)
    #expect(try stack.postJSON(exact).status == 200)
    #expect(stack.upstreamRequests["addEvent"] == 1)
  }

  @Test func upstreamFailureIs503UpstreamUnavailable() throws {
    let stack = try ServiceStack.withMock { $0.mock.okCount = 0 }
    defer { stack.stop() }
    let response = try stack.postJSON(#"{"name":"x","userId":1}"#)
    #expect(response.status == 503)
    #expect(response.errorCode == "upstream_unavailable")
  }

  @Test func successFalseInA200IsAFailure() throws {
    let stack = try ServiceStack.withScript { _, _, _ in ScriptedReply(body: #"{"success":false}"#)
    }
    defer { stack.stop() }
    let response = try stack.postJSON(#"{"name":"x","userId":1}"#)
    #expect(response.status == 503)
    #expect(response.errorCode == "upstream_unavailable")
  }
}
