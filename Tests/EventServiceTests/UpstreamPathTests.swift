import MiniJSON
import Testing

@testable import EventService

/// SPEC section 6, through real HTTP: paths are built, never pasted; a base
/// path and the `Host` header reach the upstream as written.
@Suite("Upstream paths and hosts")
struct UpstreamPathTests {
  /// Before: `..` and `%2e%2e` were sent upstream as `GET /getUserById/..`.
  @Test(arguments: [".", "..", "%2e", "%2E%2e", ".%2e"])
  func dotSegmentUserIDsAre400(id: String) throws {
    let stack = try ServiceStack.withScript { _, _, _ in ScriptedReply(body: "{}") }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/" + id)
    #expect(response.status == 400, "\(id)")
    #expect(response.errorCode == "invalid_user_id")
    #expect(stack.upstreamRequests.total == 0)
  }

  /// Event ids read from the upstream: empty, `.` and `..` are never
  /// requested and are left out; anything else is one encoded segment.
  @Test func oddEventIDsAreNeverRequested() throws {
    let stack = try ServiceStack.withScript { _, path, _ in
      path.hasPrefix("/getUserById/")
        ? ScriptedReply(body: #"{"events":["", ".", "..", "a/b", "ok", "..."]}"#)
        : ScriptedReply(body: #"{"path":"\#(path)"}"#)
    }
    defer { stack.stop() }
    let response = try stack.get("/getEventsByUserId/u")
    #expect(response.status == 200)
    let paths = response.json?.arrayValue?.compactMap { $0["path"]?.stringValue }
    #expect(paths == ["/getEventById/a%2Fb", "/getEventById/ok", "/getEventById/..."])
    #expect(stack.upstreamRequests.total == 4)
  }

  /// `http://host/v1` sends `GET /v1/getUsers`, and every other route under it.
  @Test func aBasePathPrefixesEveryRoute() throws {
    let stack = try ServiceStack.withScript(
      { $0.service.apiBase.basePath = "/v1" },
      script: { _, path, _ in
        path.hasPrefix("/v1/getUserById/")
          ? ScriptedReply(body: #"{"events":["e"]}"#)
          : ScriptedReply(body: path.hasSuffix("getUsers") ? "[]" : "{}")
      })
    defer { stack.stop() }
    #expect(try stack.get("/getUsers").status == 200)
    #expect(try stack.get("/getEventsByUserId/u").status == 200)
    #expect(try stack.postJSON(#"{"name":"n","userId":1}"#).status == 200)
    #expect(stack.upstreamRequests["GET /v1/getUsers"] == 1)
    #expect(stack.upstreamRequests["GET /v1/getUserById/u"] == 1)
    #expect(stack.upstreamRequests["GET /v1/getEventById/e"] == 1)
    #expect(stack.upstreamRequests["POST /v1/addEvent"] == 1)
  }

  /// Before: an IPv6 upstream got `Host: ::1:PORT`, which nginx answers 400.
  @Test func anIPv6UpstreamGetsABracketedHost() throws {
    let stack = try ServiceStack.withScript(
      upstreamHost: "::1", { $0.service.apiBase.host = "::1" },
      script: { _, _, _ in ScriptedReply(body: "[]") })
    defer { stack.stop() }
    #expect(try stack.get("/getUsers").status == 200)
    #expect(stack.upstreamHeaders.all.map(\.host) == ["[::1]:\(stack.upstreamPort)"])
  }

  /// UPSTREAM_HEADERS reach every upstream request, reads and writes.
  @Test func configuredHeadersReachEveryUpstreamRequest() throws {
    let stack = try ServiceStack.withScript(
      { $0.service.upstreamHeaders = [("X-Api-Key", "k-123")] },
      script: { _, path, _ in ScriptedReply(body: path.hasSuffix("getUsers") ? "[]" : "{}") })
    defer { stack.stop() }
    #expect(try stack.get("/getUsers").status == 200)
    #expect(try stack.postJSON(#"{"name":"n","userId":1}"#).status == 200)
    #expect(stack.upstreamHeaders.all.map(\.apiKey) == ["k-123", "k-123"])
  }
}
