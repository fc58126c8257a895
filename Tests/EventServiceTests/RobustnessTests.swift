import Glibc
import Testing

/// Slow or broken clients cost nothing beyond their own connection.
@Suite("Slow and broken clients")
struct RobustnessTests {
  private func rawConnection(_ port: Int, sending text: String) throws -> Int32 {
    let socketFD = try TestHTTP.connectSocket(port: port)
    try TestHTTP.writeAll(socketFD, Array(text.utf8))
    return socketFD
  }

  @Test func trickledHeadersAndHalfSentBodiesDoNotStallOthers() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let stalled = try (0..<20).map { i in
      i % 2 == 0
        ? try rawConnection(stack.servicePort, sending: "GET /health HTTP/1.1\r\nHo")
        : try rawConnection(
          stack.servicePort,
          sending:
            "POST /addEvent HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na"
        )
    }
    defer { stalled.forEach { close($0) } }
    var response: TestResponse?
    let elapsed = try TestHTTP.milliseconds { response = try stack.get("/health") }
    #expect(response?.status == 200)
    #expect(elapsed < 100, "took \(elapsed) ms")
    #expect(stack.upstreamRequests["addEvent"] == 0)
  }

  @Test func garbageGetsAnErrorAndTheServiceCarriesOn() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let garbage = try rawConnection(stack.servicePort, sending: "\u{1}\u{2}NOT HTTP AT ALL\r\n\r\n")
    let answer = try TestHTTP.receive(on: garbage)
    #expect(answer.status == 400)
    let dropped = try rawConnection(
      stack.servicePort,
      sending:
        "POST /addEvent HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
    close(dropped)
    #expect(try stack.get("/health").status == 200)
    #expect(try stack.postJSON(#"{"name":"after","userId":1}"#).status == 200)
  }
}
