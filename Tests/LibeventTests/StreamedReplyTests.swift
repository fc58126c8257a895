import Glibc
import Testing

@testable import Libevent

/// Replies sent in pieces (`ServerRequest.startStream`) over real sockets:
/// chunked framing and the last chunk, a client that leaves, a client that
/// stops reading (its backlog is bounded and libevent's idle timeout closes
/// it), and a drain that waits for a stream to end.
@Suite("Streamed replies")
struct StreamedReplyTests {
  final class Watcher: ClientGoneObserver {
    var gone = 0
    func clientGone() { gone += 1 }
  }

  /// Everything readable on `fd` within `ms`, until end of stream.
  static func readAll(_ fd: Int32, untilMs ms: Int32 = 2_000) -> String {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while poll(&poller, 1, ms) > 0 {
      let n = read(fd, &buffer, buffer.count)
      if n <= 0 { break }
      out += buffer[..<n]
    }
    return String(decoding: out, as: UTF8.self)
  }

  static func send(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  }

  /// Runs the loop; a drain starts after `ms`. True once it finished
  /// (a watchdog stops the loop after 10 s otherwise).
  static func runUntilDrained(_ loop: EventLoop, _ server: HTTPServer, startingAfterMs ms: Int64)
    -> Bool
  {
    var drained = false
    _ = loop.schedule(afterMs: ms) {
      server.stopAccepting {
        drained = true
        loop.stop()
      }
    }
    let watchdog = loop.schedule(afterMs: 10_000) { loop.stop() }
    loop.run()
    watchdog.cancel()
    return drained
  }

  @Test func piecesArriveChunkedAndTheLastChunkEndsTheReply() throws {
    ProcessSetup.install()
    let loop = EventLoop()
    defer { loop.close() }
    let watcher = Watcher()
    var held: ServerRequest?
    let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { request in
      request.setContentType("text/event-stream")
      #expect(request.startStream(status: 200, notify: watcher))
      #expect(request.hasResponded)
      #expect(request.sendChunk(Array("one\n".utf8), limit: 1_024) == .sent)
      held = request
      var pieces = ["two\n", "three\n"]
      func next() {
        guard !pieces.isEmpty else {
          held?.endStream()
          #expect(held?.sendChunk([1], limit: 1_024) == .closed)
          return
        }
        _ = held?.sendChunk(Array(pieces.removeFirst().utf8), limit: 1_024)
        _ = loop.schedule(afterMs: 10) { next() }
      }
      _ = loop.schedule(afterMs: 10) { next() }
    }
    let client = try HTTPServerTests.connect(port: server.port)
    defer { close(client) }
    Self.send(client, "GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    // A few hundred bytes: they wait in the socket until the loop is done.
    let stop = loop.schedule(afterMs: 300) { loop.stop() }
    loop.run()
    stop.cancel()
    let text = Self.readAll(client)
    #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"))
    #expect(text.contains("Transfer-Encoding: chunked\r\n"))
    #expect(text.hasSuffix("4\r\none\n\r\n4\r\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n"))
    #expect(watcher.gone == 0)
    #expect(server.inFlight == 0)
    server.close()
  }

  @Test func aClientThatLeavesIsNoticedAndTheRequestEnds() throws {
    ProcessSetup.install()
    let loop = EventLoop()
    defer { loop.close() }
    let watcher = Watcher()
    var held: ServerRequest?
    let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { request in
      #expect(request.startStream(status: 200, notify: watcher))
      held = request
    }
    let client = try HTTPServerTests.connect(port: server.port)
    Self.send(client, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
    _ = loop.schedule(afterMs: 50) { close(client) }
    let drained = Self.runUntilDrained(loop, server, startingAfterMs: 150)
    #expect(watcher.gone == 1)
    #expect(held?.sendChunk([1], limit: 1_024) == .closed)
    #expect(drained && server.inFlight == 0)
    server.close()
  }

  /// The client never reads: once the socket buffers are full, pieces stay
  /// in the server's buffer up to the limit and are refused past it; the
  /// idle timeout then closes the connection, and only that connection.
  @Test func aClientThatStopsReadingIsBoundedThenClosed() throws {
    ProcessSetup.install()
    let loop = EventLoop()
    defer { loop.close() }
    let watcher = Watcher()
    var results: [ChunkResult] = []
    var held: ServerRequest?
    var limits = HTTPServerLimits()
    limits.idleTimeoutMs = 300
    let piece = [UInt8](repeating: UInt8(ascii: "x"), count: 16_384)
    let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0, limits: limits) {
      request in
      #expect(request.startStream(status: 200, notify: watcher))
      held = request
      func feed() {
        let result = request.sendChunk(piece, limit: 65_536)
        results.append(result)
        if result == .sent { _ = loop.schedule(afterMs: 1) { feed() } }
      }
      feed()
    }
    let client = try HTTPServerTests.connect(port: server.port)
    defer { close(client) }
    var small: Int32 = 4_096
    setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
    Self.send(client, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
    let drained = Self.runUntilDrained(loop, server, startingAfterMs: 50)
    #expect(held?.sendChunk(piece, limit: 65_536) == .closed)
    #expect(results.last == .backlogged)
    #expect(results.filter { $0 == .sent }.count > 4)
    #expect(watcher.gone == 1)
    #expect(drained && server.inFlight == 0)
    server.close()
  }
}
