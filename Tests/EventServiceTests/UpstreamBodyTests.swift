import MiniJSON
import Synchronization
import Testing

@testable import EventService

/// A 2xx whose body is not the JSON expected is a failed attempt: GETs are
/// retried, then 502; nothing malformed ever reaches a client.
@Suite("Malformed upstream bodies")
struct UpstreamBodyTests {
  static let garbage = [
    "<html>oops</html>", #"{"id":1"#, "", "[1,2", #"{"a":1,"a":2}"#, "\u{1}",
  ]

  @Test(arguments: garbage + ["{}", #"{"users":[]}"#, "42", #""text""#])
  func passThroughRoutesRetryThen502(body: String) throws {
    let stack = try ServiceStack.withScript { _, _, _ in ScriptedReply(body: body) }
    defer { stack.stop() }
    for path in ["/getUsers", "/getEvents"] {
      let response = try stack.get(path)
      #expect(response.status == 502, "\(path) with \(body)")
      #expect(response.errorCode == "upstream_unavailable")
      #expect(response.json != nil)
      // One attempt plus GET_RETRIES (2).
      #expect(stack.upstreamRequests["GET \(path)"] == 3)
    }
  }

  @Test(arguments: garbage + ["[]", "[{}]", "null"])
  func aMalformedEventFailsTheFanOut(body: String) throws {
    let stack = try ServiceStack.withScript { _, path, _ in
      switch path {
      case "/getUserById/u": ScriptedReply(body: #"{"events":["good","bad"]}"#)
      case "/getEventById/bad": ScriptedReply(body: body)
      default: ScriptedReply(body: #"{"id":"good"}"#)
      }
    }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/u")
    #expect(response.status == 502, "event body \(body)")
    #expect(response.errorCode == "upstream_unavailable")
    #expect(stack.upstreamRequests["GET /getEventById/bad"] == 3)
  }

  @Test func aUserThatIsNotAnObjectIs502() throws {
    let stack = try ServiceStack.withScript { _, _, _ in ScriptedReply(body: "[]") }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/u")
    #expect(response.status == 502)
    #expect(stack.upstreamRequests["GET /getUserById/u"] == 3)
  }

  @Test func aRetryThatGetsGoodJSONSucceeds() throws {
    let calls = Mutex(0)
    let stack = try ServiceStack.withScript { _, _, _ in
      let n = calls.withLock {
        $0 += 1
        return $0
      }
      return ScriptedReply(body: n == 1 ? "<html>oops</html>" : #"[{"id":1}]"#)
    }
    defer { stack.stop() }
    let response = try stack.get("/getUsers")
    #expect(response.status == 200)
    #expect(response.text == #"[{"id":1}]"#)
  }

  /// The upstream may have stored it, but its answer cannot be read: a
  /// failure (503, counted by the breaker), never a 200.
  @Test(arguments: ["<html>oops</html>", "[]", #"{"success":true"#])
  func addEventWithAnUnreadable2xxIs503(body: String) throws {
    let stack = try ServiceStack.withScript { _, _, _ in ScriptedReply(body: body) }
    defer { stack.stop() }
    let response = try stack.postJSON(#"{"name":"x","userId":1}"#)
    #expect(response.status == 503)
    #expect(response.errorCode == "upstream_unavailable")
    #expect(try stack.get("/health").json?["breaker"]?["failuresInWindow"] == .number("1"))
  }

  @Test(arguments: ["", #"{"ok":1}"#])
  func addEventAcceptsAnEmptyOrObjectAcknowledgement(body: String) throws {
    let stack = try ServiceStack.withScript { _, _, _ in ScriptedReply(body: body) }
    defer { stack.stop() }
    #expect(try stack.postJSON(#"{"name":"x","userId":1}"#).status == 200)
  }
}
