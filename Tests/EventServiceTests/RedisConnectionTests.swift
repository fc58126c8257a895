import Glibc
import Libevent
import Testing

/// `RedisConnection` against a real `redis-server`, on a loop in the test's
/// thread: commands and replies, Redis going away (commands fail at once),
/// and the connection made again when it comes back.
@Suite("Redis connection (real redis-server)", .serialized)
struct RedisConnectionTests {
  /// Runs the loop until `done` is true (at most 10 s).
  static func run(_ loop: EventLoop, until done: @escaping () -> Bool) {
    func poll() {
      if done() { loop.stop() } else { _ = loop.schedule(afterMs: 5) { poll() } }
    }
    _ = loop.schedule(afterMs: 0) { poll() }
    let watchdog = loop.schedule(afterMs: 10_000) { loop.stop() }
    loop.run()
    watchdog.cancel()
  }

  static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

  @Test func commandsGetRepliesAndTheConnectionComesBackAfterAnOutage() throws {
    ProcessSetup.install()
    let redis = try RedisServer()
    let loop = EventLoop()
    defer { loop.close() }
    let connection = RedisConnection(loop: loop, host: "127.0.0.1", port: redis.port)
    var statuses: [RedisConnection.Status] = []
    connection.onStatusChange = { statuses.append($0) }
    Self.run(loop) { connection.status == .connected }
    #expect(connection.status == .connected)

    var replies: [Result<RedisConnection.Reply, RedisConnection.Unavailable>] = []
    connection.send([Self.bytes("SET"), Self.bytes("k"), [0, 1, 2]]) { replies.append($0) }
    connection.send([Self.bytes("GET"), Self.bytes("k")]) { replies.append($0) }
    connection.send([Self.bytes("GET"), Self.bytes("missing")]) { replies.append($0) }
    connection.send([Self.bytes("INCR"), Self.bytes("n")]) { replies.append($0) }
    connection.send([Self.bytes("NOSUCHCOMMAND")]) { replies.append($0) }
    Self.run(loop) { replies.count == 5 }
    #expect(try replies[0].get() == .status("OK"))
    #expect(try replies[1].get() == .string([0, 1, 2]))
    #expect(try replies[2].get() == .null)
    #expect(try replies[3].get() == .integer(1))
    guard case .error(let message)? = try? replies[4].get() else {
      Issue.record("expected an error reply, got \(replies[4])")
      return
    }
    #expect(message.contains("unknown command"))

    // Redis goes away: the connection notices, commands fail at once.
    redis.stop()
    Self.run(loop) { connection.status == .disconnected }
    var failed: Result<RedisConnection.Reply, RedisConnection.Unavailable>?
    connection.send([Self.bytes("GET"), Self.bytes("k")]) { failed = $0 }
    Self.run(loop) { failed != nil }
    #expect(throws: RedisConnection.Unavailable.self) { try failed?.get() }

    // It comes back: the connection is made again, without being asked.
    try redis.start()
    Self.run(loop) { connection.status == .connected }
    #expect(connection.status == .connected)
    var after: Result<RedisConnection.Reply, RedisConnection.Unavailable>?
    connection.send([Self.bytes("PING")]) { after = $0 }
    Self.run(loop) { after != nil }
    #expect(try after?.get() == .status("PONG"))
    #expect(statuses.last == .connected)
    #expect(statuses.contains(.disconnected))
    connection.stop()
  }

  /// Redis hangs with the connection open: a command unanswered within the
  /// command timeout fails, the connection is dropped (not left waiting for
  /// replies that never come), and made again once Redis answers.
  @Test func aHungRedisFailsCommandsAtTheTimeoutAndIsConnectedAgain() throws {
    ProcessSetup.install()
    let redis = try RedisServer()
    defer { redis.resume() }
    let loop = EventLoop()
    defer { loop.close() }
    let connection = RedisConnection(
      loop: loop, host: "127.0.0.1", port: redis.port, commandTimeoutMs: 200)
    Self.run(loop) { connection.status == .connected }
    redis.pause()
    var hung: [Result<RedisConnection.Reply, RedisConnection.Unavailable>] = []
    connection.send([Self.bytes("PING")]) { hung.append($0) }
    connection.send([Self.bytes("PING")]) { hung.append($0) }
    Self.run(loop) { hung.count == 2 }
    #expect(hung.count == 2)
    #expect(hung.allSatisfy { (try? $0.get()) == nil }, "both fail")
    #expect(connection.status != .connected)
    #expect(connection.lastError?.contains("no reply within 200 ms") == true)
    redis.resume()
    Self.run(loop) { connection.status == .connected }
    var after: Result<RedisConnection.Reply, RedisConnection.Unavailable>?
    connection.send([Self.bytes("PING")]) { after = $0 }
    Self.run(loop) { after != nil }
    #expect(try after?.get() == .status("PONG"))
    connection.stop()
  }

  @Test func nothingListeningIsUnavailableAndRetried() throws {
    ProcessSetup.install()
    let (fd, port) = try TestSocket.bound(SOCK_STREAM)
    close(fd)  // nothing listens there
    let loop = EventLoop()
    defer { loop.close() }
    let connection = RedisConnection(loop: loop, host: "127.0.0.1", port: port)
    var attempts = 0
    connection.onStatusChange = { if $0 == .connecting { attempts += 1 } }
    Self.run(loop) { attempts >= 3 }
    #expect(attempts >= 3, "connects again after each failure")
    #expect(connection.lastError != nil)
    connection.stop()
  }
}
