import Glibc
import Testing

@testable import Libevent

@Suite("HTTPServer")
struct HTTPServerTests {
  /// A client that resets its connection while a large reply is still being
  /// written: libevent frees the connection and never reports the reply
  /// complete. The server must still count the request as finished, or a
  /// graceful drain would wait forever.
  @Test func aReplyCutShortByAResetStillEndsTheRequest() throws {
    ProcessSetup.install()
    let loop = EventLoop()
    defer { loop.close() }
    let big = [UInt8](repeating: UInt8(ascii: "x"), count: 8 << 20)
    var answered = false
    let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { request in
      request.respond(status: 200, headers: [], body: big)
      answered = true
    }
    let client = try Self.connect(port: server.port)
    let head = Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    #expect(head.withUnsafeBytes { write(client, $0.baseAddress, $0.count) } == head.count)

    var drained = false
    var reset = false
    // Polls from the loop: once the reply is under way (8 MiB cannot all sit
    // in socket buffers), reset the client's connection, then drain.
    var poll: (() -> Void)!
    poll = {
      if answered && !reset {
        reset = true
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        close(client)
        server.stopAccepting {
          drained = true
          loop.stop()
        }
      }
      if !drained { _ = loop.schedule(afterMs: 5) { poll() } }
    }
    _ = loop.schedule(afterMs: 5) { poll() }
    let watchdog = loop.schedule(afterMs: 5_000) { loop.stop() }
    loop.run()
    watchdog.cancel()
    poll = nil
    #expect(reset)
    #expect(drained)
    #expect(server.inFlight == 0)
    server.close()
  }

  static func connect(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    try #require(connected == 0)
    return fd
  }
}

extension HTTPServerTests {
  /// HEAD, TRACE and unknown methods get no body read by libevent. One that
  /// declares a body anyway is answered with `Connection: close`, so its
  /// bytes are never read as the next request on the connection.
  @Test(arguments: ["HEAD", "TRACE", "BREW"])
  func aBodyLibeventDoesNotReadClosesTheConnection(method: String) throws {
    ProcessSetup.install()
    let loop = EventLoop()
    defer { loop.close() }
    var seen: [String] = []
    let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { request in
      seen.append("\(request.method.rawValue) \(request.path)")
      request.respond(status: 200, headers: [], body: Array("ok".utf8))
    }
    let client = try Self.connect(port: server.port)
    let body = #"{"name":"x"}"#
    let bytes = Array(
      ("\(method) /first HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        + "GET /second HTTP/1.1\r\nHost: x\r\n\r\n").utf8)
    #expect(bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) } == bytes.count)
    var received: [UInt8] = []
    // Reads from the loop until the server closes the connection.
    var poll: (() -> Void)!
    poll = {
      var chunk = [UInt8](repeating: 0, count: 4096)
      let n = recv(client, &chunk, chunk.count, Int32(MSG_DONTWAIT))
      if n > 0 { received += chunk[..<n] }
      if n == 0 { loop.stop() } else { _ = loop.schedule(afterMs: 5) { poll() } }
    }
    _ = loop.schedule(afterMs: 5) { poll() }
    let watchdog = loop.schedule(afterMs: 3_000) { loop.stop() }
    loop.run()
    watchdog.cancel()
    poll = nil
    close(client)
    let reply = String(decoding: received, as: UTF8.self)
    #expect(seen.count == 1)
    #expect(seen.first?.hasSuffix("/first") == true)
    #expect(reply.contains("Connection: close"))
    #expect(reply.matches(of: #/HTTP\/1\.1 /#).count == 1, "exactly one reply: \(reply)")
    server.close()
  }
}

@Suite("HTTPServer binding")
struct HTTPServerBindingTests {
  /// The reason is the one bind() gave, read when it failed.
  @Test func anAddressInUseNamesItsErrno() throws {
    let loop = EventLoop()
    defer { loop.close() }
    let first = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { _ in }
    do {
      _ = try HTTPServer(loop: loop, host: "127.0.0.1", port: first.port) { _ in }
      Issue.record("bound a port already in use")
    } catch let error as BindError {
      #expect(error.code == EADDRINUSE)
      errno = 0
      #expect(error.description.contains("Address already in use"))
    }
  }
}
