internal import CHiredis
internal import CLibeventShims
import DequeModule

/// One connection to a Redis server, on the loop: hiredis's async API with
/// its libevent adapter on the loop's `event_base`, never a blocking call.
///
/// It connects at once and, whenever the connection fails or closes,
/// again after a backoff (100 ms, doubling to 1 s: a server that is back is
/// used within a second, for one connect a second while it is away). A
/// command gets its reply,
/// or `.unavailable` when there is no connection, the connection is lost
/// before the reply, or no reply comes within `commandTimeoutMs` (then the
/// connection is dropped and made again: Redis answers in order, so one
/// late reply holds back all the others).
///
/// Lifetime: registered with the loop while hiredis holds a context (its
/// callbacks find this object through the context's `data`, unretained);
/// each command's completion is retained until hiredis calls back, which it
/// does exactly once per command (with no reply when the context goes).
public final class RedisConnection: LoopRegistration {
  public enum Status: String, Sendable {
    case connecting, connected, disconnected
  }

  /// A reply as Redis gives it.
  public indirect enum Reply: Equatable, Sendable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case array([Reply])
    case null
    case error(String)
  }

  public struct Unavailable: Error, Equatable, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
  }

  public let host: String
  public let port: Int
  public let database: Int
  public let commandTimeoutMs: Int64
  public private(set) var status = Status.disconnected
  /// Told of every change of `status`.
  public var onStatusChange: ((Status) -> Void)?
  /// Why the last connection attempt or connection failed.
  public private(set) var lastError: String?

  private var context: UnsafeMutablePointer<redisAsyncContext>?
  private var backoffMs: Int64 = 0
  private var reconnectTimer: LoopTimer?
  private var timeoutTimer: LoopTimer?
  /// When each command in flight must be answered, oldest first.
  private var deadlines: Deque<Int64> = []
  private var stopped = false

  static let minBackoffMs: Int64 = 100
  static let maxBackoffMs: Int64 = 1_000

  public init(
    loop: EventLoop, host: String, port: Int, database: Int = 0, commandTimeoutMs: Int64 = 1_000
  ) {
    self.host = host
    self.port = port
    self.database = database
    self.commandTimeoutMs = max(1, commandTimeoutMs)
    super.init(loop: loop)
    connect()
  }

  /// Sends a command (its arguments as bytes); `completion` runs once, on
  /// the loop, never before `send` returns.
  public func send(
    _ arguments: [[UInt8]], completion: @escaping (Result<Reply, Unavailable>) -> Void
  ) {
    guard let context, status != .disconnected else {
      let reason = lastError ?? "not connected"
      _ = loop.schedule(afterMs: 0) { completion(.failure(Unavailable(reason))) }
      return
    }
    let box = Unmanaged.passRetained(Pending(completion)).toOpaque()
    let sent = withArgv(arguments) { argc, argv, lengths in
      redisAsyncCommandArgv(
        context,
        { context, reply, privdata in
          let pending = Unmanaged<Pending>.fromOpaque(privdata!).takeRetainedValue()
          let connection = context?.pointee.data.map {
            Unmanaged<RedisConnection>.fromOpaque($0).takeUnretainedValue()
          }
          connection?.answered()
          let reply = reply?.assumingMemoryBound(to: redisReply.self)
          pending.completion(
            reply.map { .success(Reply($0.pointee)) }
              ?? .failure(Unavailable(connection?.lastError ?? "connection lost")))
        }, box, argc, argv, lengths)
    }
    guard sent == REDIS_OK else {
      Unmanaged<Pending>.fromOpaque(box).release()
      _ = loop.schedule(afterMs: 0) { completion(.failure(Unavailable("connection closing"))) }
      return
    }
    deadlines.append(loop.nowMs + commandTimeoutMs)
    if deadlines.count == 1 { armTimeout() }
  }

  /// Closes the connection for good (pending commands fail).
  public func stop() {
    stopped = true
    reconnectTimer?.cancel()
    timeoutTimer?.cancel()
    if let context { redisAsyncDisconnect(context) }
  }

  override func endRegistration() {
    stopped = true
    reconnectTimer?.cancel()
    timeoutTimer?.cancel()
    // The loop is closing: free at once (callbacks run with no reply).
    if let context {
      self.context = nil
      context.pointee.data = nil
      redisAsyncFree(context)
    }
  }

  // MARK: - Connecting

  private func connect() {
    guard !stopped else { return }
    guard let made = redisAsyncConnect(host, Int32(port)) else {
      failed("out of memory")
      return
    }
    if made.pointee.err != 0 {
      let reason = made.pointee.errstr.map { String(cString: $0) } ?? "connect failed"
      redisAsyncFree(made)
      failed(reason)
      return
    }
    context = made
    made.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    register()
    CLibeventShims_redis_attach(made, loop.base)
    redisAsyncSetConnectCallback(made) { context, result in
      guard let connection = RedisConnection.owner(of: context) else { return }
      connection.connected(ok: result == REDIS_OK, context: context)
    }
    redisAsyncSetDisconnectCallback(made) { context, result in
      guard let connection = RedisConnection.owner(of: context) else { return }
      connection.disconnected(context: context)
    }
    setStatus(.connecting)
    if database != 0 {
      send([Array("SELECT".utf8), Array(String(database).utf8)]) { [weak self] result in
        if case .success(.error(let message)) = result, let self {
          self.abandonConnection("SELECT \(self.database): \(message)")
        }
      }
    }
  }

  private static func owner(of context: UnsafePointer<redisAsyncContext>?) -> RedisConnection? {
    context?.pointee.data.map { Unmanaged<RedisConnection>.fromOpaque($0).takeUnretainedValue() }
  }

  private func connected(ok: Bool, context: UnsafePointer<redisAsyncContext>?) {
    guard ok else {
      // hiredis frees the context after this callback.
      let reason = context.flatMap { Self.errorText($0) } ?? "connect failed"
      forgetContext()
      failed(reason)
      return
    }
    backoffMs = 0
    lastError = nil
    setStatus(.connected)
  }

  private func disconnected(context: UnsafePointer<redisAsyncContext>?) {
    let reason = context.flatMap { Self.errorText($0) } ?? ""
    forgetContext()
    failed(reason.isEmpty ? "connection closed" : reason)
  }

  private static func errorText(_ context: UnsafePointer<redisAsyncContext>) -> String? {
    context.pointee.errstr.map { String(cString: $0) }
  }

  /// hiredis is freeing the context: no callback finds this object any more.
  private func forgetContext() {
    context?.pointee.data = nil
    context = nil
    deadlines.removeAll()
    timeoutTimer?.cancel()
    unregister()
  }

  private func failed(_ reason: String) {
    lastError = reason
    setStatus(.disconnected)
    guard !stopped else { return }
    backoffMs = min(Self.maxBackoffMs, max(Self.minBackoffMs, backoffMs * 2))
    if reconnectTimer == nil {
      reconnectTimer = LoopTimer(loop: loop) { [weak self] in self?.connect() }
    }
    reconnectTimer?.arm(afterMs: backoffMs)
  }

  private func setStatus(_ new: Status) {
    guard new != status else { return }
    status = new
    onStatusChange?(new)
  }

  // MARK: - Command deadlines

  private func answered() {
    guard !deadlines.isEmpty else { return }
    deadlines.removeFirst()
    armTimeout()
  }

  private func armTimeout() {
    guard let first = deadlines.first else {
      timeoutTimer?.cancel()
      return
    }
    if timeoutTimer == nil {
      timeoutTimer = LoopTimer(loop: loop) { [weak self] in self?.timeoutPassed() }
    }
    timeoutTimer?.arm(afterMs: max(0, first - loop.nowMs))
  }

  private func timeoutPassed() {
    guard let first = deadlines.first else { return }
    guard first <= loop.nowMs else {
      armTimeout()
      return
    }
    abandonConnection("no reply within \(commandTimeoutMs) ms")
  }

  /// Frees the connection at once — `redisAsyncDisconnect` would wait for
  /// the replies of a server that gave none — failing every command in
  /// flight; it is made again after the backoff. The context is forgotten
  /// first, so hiredis's callbacks during the free find no connection
  /// (inside a hiredis callback the free waits until it returns).
  private func abandonConnection(_ reason: String) {
    guard let context else { return }
    forgetContext()
    redisAsyncFree(context)
    failed(reason)
  }

  private final class Pending {
    let completion: (Result<Reply, Unavailable>) -> Void
    init(_ completion: @escaping (Result<Reply, Unavailable>) -> Void) {
      self.completion = completion
    }
  }
}

extension RedisConnection.Reply {
  init(_ reply: redisReply) {
    switch reply.type {
    case REDIS_REPLY_STRING:
      self = .string(Self.bytes(reply.str, reply.len))
    case REDIS_REPLY_STATUS:
      self = .status(String(decoding: Self.bytes(reply.str, reply.len), as: UTF8.self))
    case REDIS_REPLY_ERROR:
      self = .error(String(decoding: Self.bytes(reply.str, reply.len), as: UTF8.self))
    case REDIS_REPLY_INTEGER:
      self = .integer(reply.integer)
    case REDIS_REPLY_ARRAY:
      self = .array(
        (0..<reply.elements).map { index in
          reply.element[index].map { Self($0.pointee) } ?? .null
        })
    default:
      self = .null
    }
  }

  private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
    guard let pointer, count > 0 else { return [] }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
      Array(UnsafeBufferPointer(start: $0, count: count))
    }
  }
}

/// Calls `body` with the arguments as C's `argc`, `argv` and lengths, valid
/// for the call (hiredis copies them into its output buffer).
private func withArgv<R>(
  _ arguments: [[UInt8]],
  _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
) -> R {
  let joined = Array(arguments.joined()) + [0]
  let lengths = arguments.map(\.count)
  return joined.withUnsafeBufferPointer { storage in
    let base = UnsafeRawPointer(storage.baseAddress!).assumingMemoryBound(to: CChar.self)
    var pointers: [UnsafePointer<CChar>?] = []
    var offset = 0
    for length in lengths {
      pointers.append(base + offset)
      offset += length
    }
    return pointers.withUnsafeMutableBufferPointer { argv in
      lengths.withUnsafeBufferPointer {
        body(Int32(arguments.count), argv.baseAddress!, $0.baseAddress!)
      }
    }
  }
}
