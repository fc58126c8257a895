import Libevent
import Testing

@testable import EventService

/// Routing in memory (no socket); one 405 per method kind over real HTTP,
/// since evhttp parses the method.
@Suite("404, 405 and request ids")
struct RoutingTests {
  @Test func unknownPathIsJSON404() {
    let service = InMemoryService()
    for path in ["/nope", "/getUsers/", "/getEventsByUserId/1/extra", "/"] {
      let response = service.get(path)
      #expect(response.status == 404, "\(path)")
      #expect(response.errorCode == "not_found")
      #expect(response.json?["message"] != nil)
    }
    #expect(service.transport.sent.isEmpty)
  }

  @Test(arguments: [
    (HTTPMethod.delete, "/getUsers", "GET, HEAD"), (.put, "/getEvents", "GET, HEAD"),
    (.post, "/health", "GET, HEAD"), (.get, "/addEvent", "POST"),
    (.patch, "/getEventsByUserId/1", "GET, HEAD"), (.options, "/addEvent", "POST"),
    (.trace, "/metrics", "GET, HEAD"), (.other, "/getUsers", "GET, HEAD"),
  ])
  func wrongMethodIs405WithAllowInMemory(method: HTTPMethod, path: String, allow: String) {
    let response = InMemoryService().send(RecordedRequest(method, path))
    #expect(response.status == 405)
    #expect(response.errorCode == "method_not_allowed")
    #expect(response.replyHeader("Allow") == allow)
    #expect(response.replyHeader("Content-Type") == "application/json; charset=utf-8")
  }

  @Test(arguments: [("DELETE", "/getUsers", "GET, HEAD"), ("BREW", "/addEvent", "POST")])
  func wrongMethodIs405WithAllow(method: String, path: String, allow: String) throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.send(TestRequest(method: method, path: path))
    #expect(response.status == 405)
    #expect(response.errorCode == "method_not_allowed")
    #expect(response.header("Allow") == allow)
    #expect(response.header("Content-Type") == "application/json; charset=utf-8")
  }

  @Test func requestIdIsEchoedWhenValidAndGeneratedOtherwise() throws {
    let service = InMemoryService()
    let echoed = service.get("/health", headers: [("X-Request-Id", "abc.DEF_1:2-3")])
    #expect(echoed.replyHeader("X-Request-Id") == "abc.DEF_1:2-3")
    for bad in ["has space", "semi;colon", String(repeating: "x", count: 129)] {
      let generated = service.get("/health", headers: [("X-Request-Id", bad)])
      let id = try #require(generated.replyHeader("X-Request-Id"))
      #expect(id != bad && !id.isEmpty)
    }
    let first = service.get("/nope").replyHeader("X-Request-Id")
    let second = service.get("/nope").replyHeader("X-Request-Id")
    #expect(first != nil && first != second)
  }
}
