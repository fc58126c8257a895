import Foundation
import Libevent
import MiniJSON
import Synchronization
import Testing

/// SPEC section 10 against the release binary: an upstream that answers in
/// ways an ordinary server never would.
@Suite("Hostile upstreams, against the release binary")
struct HostileUpstreamTests {
  init() { ProcessSetup.install() }

  static func service(upstream: RawUpstream, _ extra: [String: String] = [:]) throws
    -> RunningService
  {
    try RunningService(
      environment: [
        "PORT": "0", "LOG_LEVEL": "info", "API_BASE": "http://127.0.0.1:\(upstream.port)",
        "MOCK": #"{"ENABLED": false}"#,
      ].merging(extra) { _, new in new })
  }

  /// Finding 1: libevent 2.1 took a `102`/`103` for the final answer and
  /// the real answer went to the next request on the connection — 1,854 of
  /// 1,857 replies carried another user's events. Every user's events here
  /// name their owner; each of 8 clients asks for 5 users 25 times.
  @Test(arguments: [102, 103])
  func interimAnswersNeverHandOneUsersDataToAnother(status: Int) throws {
    let interim = Array(
      "HTTP/1.1 \(status) Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n".utf8)
    let upstream = try RawUpstream { path in
      if let user = path.split(separator: "/").last, path.hasPrefix("/getUserById/") {
        // The interim answer and the final one in one write...
        return [.write(interim + RawUpstream.ok(#"{"id":"\#(user)","events":["e-\#(user)"]}"#))]
      }
      if let event = path.split(separator: "/").last, path.hasPrefix("/getEventById/e-") {
        // ...and in two.
        return [.write(interim), .write(RawUpstream.ok(#"{"owner":"\#(event.dropFirst(2))"}"#))]
      }
      return [.write(Array("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}".utf8))]
    }
    defer { upstream.stop() }
    let service = try Self.service(upstream: upstream)
    defer { service.process.terminate() }
    let wrong = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: 8) { client in
      for round in 0..<25 {
        let user = "u\(client)-\(round % 5)"
        guard
          let response = try? TestHTTP.send(.get("/getEventsByUserId/\(user)"), port: service.port),
          response.status == 200, let events = response.json?.arrayValue
        else {
          failed.add(1, ordering: .relaxed)
          continue
        }
        if events.count != 1 || events[0]["owner"]?.stringValue != user {
          wrong.add(1, ordering: .relaxed)
        }
      }
    }
    #expect(wrong.load(ordering: .relaxed) == 0, "replies with another user's events")
    #expect(failed.load(ordering: .relaxed) == 0, "replies other than 200")
    #expect(upstream.requests == 400)
  }

  /// A `101` nobody asked for is no final answer: the attempt fails and the
  /// connection is closed, so what follows it is never read as an answer.
  @Test func anUnaskedForSwitchingProtocolsFailsTheAttempt() throws {
    let upstream = try RawUpstream { _ in
      [.write(Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8) + RawUpstream.ok("[]"))]
    }
    defer { upstream.stop() }
    let service = try Self.service(upstream: upstream, ["GET_RETRIES": "0"])
    defer { service.process.terminate() }
    let response = try TestHTTP.send(.get("/getUsers"), port: service.port)
    #expect(response.status == 502)
    #expect(response.errorCode == "upstream_unavailable")
  }
}
