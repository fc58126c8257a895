import Testing

@testable import EventService

@Suite("404, 405 and request ids")
struct RoutingTests {
  @Test func unknownPathIsJSON404() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    for path in ["/nope", "/getUsers/", "/getEventsByUserId/1/extra", "/"] {
      let response = try stack.get(path)
      #expect(response.status == 404, "\(path)")
      #expect(response.errorCode == "not_found")
      #expect(response.json?["message"] != nil)
    }
  }

  @Test(arguments: [
    ("DELETE", "/getUsers", "GET, HEAD"), ("PUT", "/getEvents", "GET, HEAD"),
    ("POST", "/health", "GET, HEAD"),
    ("GET", "/addEvent", "POST"), ("PATCH", "/getEventsByUserId/1", "GET, HEAD"),
    ("OPTIONS", "/addEvent", "POST"),
    ("TRACE", "/metrics", "GET, HEAD"), ("FOO", "/getUsers", "GET, HEAD"),
    ("BREW", "/addEvent", "POST"),
  ])
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
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let echoed = try stack.send(.get("/health", headers: [("X-Request-Id", "abc.DEF_1:2-3")]))
    #expect(echoed.header("X-Request-Id") == "abc.DEF_1:2-3")
    for bad in ["has space", "semi;colon", String(repeating: "x", count: 129)] {
      let generated = try stack.send(.get("/health", headers: [("X-Request-Id", bad)]))
      let id = try #require(generated.header("X-Request-Id"))
      #expect(id != bad && !id.isEmpty)
    }
    let first = try stack.get("/nope").header("X-Request-Id")
    let second = try stack.get("/nope").header("X-Request-Id")
    #expect(first != nil && first != second)
  }
}
