import Foundation
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

/// A name's addresses are dialed in turn within one attempt.
@Suite("Upstream addresses")
struct UpstreamAddressTests {
  /// A listener that never accepts, with its one-place queue filled: the
  /// kernel drops every further SYN, so a connect to it neither succeeds
  /// nor fails.
  final class BlackHole {
    let fd: Int32
    let filler: Int32

    init(host: String, port: Int) throws {
      fd = try TestSocket.bound(SOCK_STREAM, host: host, port: port).fd
      guard listen(fd, 0) == 0 else { throw TestFailure("black hole: errno \(errno)") }
      filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      guard TestSocket.connect(filler, host: host, port: port) else {
        throw TestFailure("black hole filler: errno \(errno)")
      }
    }

    deinit {
      close(filler)
      close(fd)
    }
  }

  /// The service in front of `api.test`, which `dns` resolves, with no
  /// retries: whatever works, works within one attempt.
  static func stack(resolvingWith dns: FakeDNS) throws -> ServiceStack {
    try ServiceStack.withScript(
      {
        $0.service.apiBase.host = "api.test"
        $0.service.resolvConf = dns.resolvConf
        $0.service.retry.retries = 0
        $0.service.upstreamTimeoutMs = 2_000
      }, script: { method, _, _ in ScriptedReply(body: method == "POST" ? "{}" : "[]") })
  }

  @Test func anAddressThatNeverAnswersGivesWayToTheNextWithinTheAttempt() throws {
    let dns = try FakeDNS(records: ["api.test": ["127.0.0.5", "127.0.0.1"]])
    defer { dns.stop() }
    let stack = try Self.stack(resolvingWith: dns)
    defer { stack.stop() }
    let hole = try BlackHole(host: "127.0.0.5", port: stack.upstreamPort)
    #expect(try stack.get("/getUsers").status == 200)
    #expect(stack.upstreamRequests.total == 1)
    withExtendedLifetime(hole) {}
  }

  @Test func aRefusedAddressGivesWayToTheNext() throws {
    let dns = try FakeDNS(records: ["api.test": ["127.0.0.6", "127.0.0.1"]])
    defer { dns.stop() }
    let stack = try Self.stack(resolvingWith: dns)
    defer { stack.stop() }
    #expect(try stack.get("/getUsers").status == 200)
    #expect(try stack.postJSON(#"{"name":"n","userId":1}"#).status == 200)
    #expect(
      stack.upstreamHeaders.all.map(\.host)
        == Array(repeating: "api.test:\(stack.upstreamPort)", count: 2))
  }
}
