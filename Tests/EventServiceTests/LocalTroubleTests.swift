import Foundation
import Libevent
import MiniJSON
import Testing

/// Finding 6: local trouble is not upstream trouble. Before, out of file
/// descriptors (limit lowered to 1,024), three `POST /addEvent` got 503
/// `upstream_unavailable` and opened the breaker while the upstream was
/// healthy. Now they get 503 `overloaded` and the breaker stays CLOSED.
@Suite("Out of file descriptors, against the release binary")
struct LocalTroubleTests {
  init() { ProcessSetup.install() }

  @Test func runningOutOfDescriptorsNeverMovesTheBreaker() throws {
    let service = try RunningService(
      environment: ["PORT": "0", "LOG_LEVEL": "info", "MOCK": #"{"PORT": 0}"#],
      wrapper: ["/usr/bin/prlimit", "--nofile=64:64"])
    defer { service.process.terminate() }
    var connection = try KeepAliveConnection(port: service.port)
    defer { connection.close() }
    #expect(try connection.send(.get("/health")).status == 200)
    // Idle connections until the service has no descriptor left.
    var idle: [Int32] = []
    defer { for fd in idle { close(fd) } }
    for _ in 0..<80 { idle.append(try TestHTTP.connectSocket(port: service.port)) }
    var accepted = 0
    for _ in 0..<100 where accepted < 50 {
      accepted = Self.openDescriptors(of: service.process.processIdentifier)
      usleep(10_000)
    }
    let event = TestRequest.postJSON("/addEvent", #"{"name":"n","userId":1}"#)
    for _ in 0..<3 {
      let response = try connection.send(event)
      #expect(response.status == 503)
      #expect(response.errorCode == "overloaded")
      #expect(response.header("Retry-After") == "1")
    }
    let health = try connection.send(.get("/health"))
    #expect(health.json?["breaker"]?["state"]?.stringValue == "CLOSED")
    #expect(health.json?["breaker"]?["failuresInWindow"] == .number("0"))
    let metrics = try connection.send(.get("/metrics")).text
    #expect(
      metrics.contains(#"route="addEvent",outcome="local_error""#)
        || metrics.contains(#"outcome="local_error",route="addEvent""#))
  }

  private static func openDescriptors(of pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
  }
}
