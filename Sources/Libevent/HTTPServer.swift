internal import CLibevent
import Glibc
import Synchronization

public struct BindError: Error, CustomStringConvertible {
  public let host: String
  public let port: Int
  /// Read when the bind failed, not when the error is printed.
  public let code: Int32

  public var description: String {
    "cannot listen on \(host):\(port): \(String(cString: strerror(code))) (errno \(code))"
  }
}

/// An evhttp listener whose every request goes to one Swift handler.
///
/// Tracks requests in flight from arrival until libevent has written the
/// reply (`on_complete`), which is what a graceful drain must wait for.
/// Registered with the loop from `init` until `close()` (or
/// `EventLoop.close()`), so it serves whether or not anybody else holds it.
/// The handler may hold its owner strongly: `close()` lets go of it.
public final class HTTPServer: LoopRegistration {
  private var http: OpaquePointer?
  fileprivate var bound: OpaquePointer?
  private let replyBuffer: OpaquePointer
  private var handler: ((ServerRequest) -> Void)?
  private var pendingDrops: [OpaquePointer] = []
  /// Connections of streamed replies whose clients left, to free next turn.
  /// (A connection libevent closes first leaves the list: never freed twice.)
  private var pendingStreamCloses: [(connection: InboundConnection, evcon: OpaquePointer)] = []
  private var dropTimer: LoopTimer?
  private var acceptRetryTimer: LoopTimer?
  let limits: HTTPServerLimits
  /// HTTPS: each accepted connection does a TLS handshake first.
  let tls: TLSServerContext?
  private(set) lazy var connections = InboundConnections(server: self)

  public private(set) var port: Int
  public private(set) var inFlight = 0
  /// Bytes of replies handed to libevent and not yet written to their
  /// clients' sockets (a slow reader's reply waits here).
  public private(set) var replyBytesInFlight = 0
  private var date = HTTPDate()
  public private(set) var isDraining = false
  private var onDrained: (() -> Void)?
  /// Called (with errno) when accept() fails, typically for lack of file
  /// descriptors, and accepting pauses for 100 ms.
  public var onAcceptPaused: ((Int32) -> Void)?

  public init(
    loop: EventLoop, host: String, port: Int, limits: HTTPServerLimits = .init(),
    tls: TLSServerContext? = nil, handler: @escaping (ServerRequest) -> Void
  ) throws {
    replyBuffer = evbuffer_new()
    self.port = 0
    self.handler = handler
    self.limits = limits
    self.tls = tls
    super.init(loop: loop)
    let http = evhttp_new(loop.base)!
    self.http = http
    evhttp_set_allowed_methods(http, HTTPMethod.allCommandsMask)
    evhttp_set_max_body_size(http, limits.maxBodyBytes)
    evhttp_set_max_headers_size(http, limits.maxHeadersBytes)
    // A new connection's idle timeout: until its first byte, the header
    // deadline counts from the accept. Later, `InboundConnection` keeps it.
    var initial = timeval(milliseconds: limits.headerTimeoutMs)
    evhttp_set_timeout_tv(http, &initial)
    evhttp_set_bevcb(
      http,
      { base, arg in
        Unmanaged<HTTPServer>.fromOpaque(arg!).takeUnretainedValue().connections.make(base: base)
      }, Unmanaged.passUnretained(self).toOpaque())
    // No default: every reply names its own `Content-Type` (`ReplyHead`),
    // and evhttp's error pages set theirs.
    evhttp_set_default_content_type(http, nil)
    // The listener is made here, with the backlog a burst of connections
    // needs (evhttp's own would listen with 128: a fan-out of hundreds would
    // have SYNs dropped and retried a second later); evhttp takes it over.
    let listener: OpaquePointer
    do {
      listener = try Self.listen(loop: loop, host: host, port: port)
    } catch {
      evhttp_free(http)
      self.http = nil
      throw error
    }
    guard let bound = evhttp_bind_listener(http, listener) else {
      let code = errno
      evconnlistener_free(listener)
      evhttp_free(http)
      self.http = nil
      throw BindError(host: host, port: port, code: code)
    }
    self.bound = bound
    self.port = Int(CLibevent_bound_port(bound))
    let fd = evhttp_bound_socket_get_fd(bound)
    // Replies go out whole; Nagle plus delayed ACKs would hold back the tail of
    // a large reply for 40 ms. Accepted sockets inherit this on Linux.
    var on: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    evhttp_set_gencb(
      http,
      { raw, arg in
        guard let raw, let arg else { return }
        Unmanaged<HTTPServer>.fromOpaque(arg).takeUnretainedValue().accept(raw)
      }, Unmanaged.passUnretained(self).toOpaque())
    Self.watchAcceptErrors(of: evhttp_bound_socket_get_listener(bound), owner: self)
    register()
  }

  deinit {
    close()
    evbuffer_free(replyBuffer)
  }

  /// True once `close()` freed evhttp: requests still held answer nothing.
  public var isClosed: Bool { http == nil }

  /// Frees the listener and every connection at once (requests in flight get
  /// no answer). A drain (`stopAccepting`) is the graceful way.
  public func close() {
    guard let http else { return }
    unlistenIfBound()
    dropTimer?.cancel()
    acceptRetryTimer?.cancel()
    pendingDrops.removeAll()
    pendingStreamCloses.removeAll()
    // Closed before the free: callbacks that libevent runs while freeing
    // connections see a closed server and change nothing.
    self.http = nil
    evhttp_free(http)
    connections.removeAll()
    handler = nil
    unregister()
  }

  override func endRegistration() { close() }

  private func unlistenIfBound() {
    guard let bound, let http else { return }
    Self.forgetOwner(of: evhttp_bound_socket_get_listener(bound))
    evhttp_del_accept_socket(http, bound)
    self.bound = nil
  }

  /// Closes the listening socket (new connections are refused), answers the
  /// rest with `Connection: close`, and calls `onDrained` once nothing is in flight.
  public func stopAccepting(onDrained: @escaping () -> Void) {
    unlistenIfBound()
    acceptRetryTimer?.cancel()
    isDraining = true
    self.onDrained = onDrained
    if inFlight == 0 { finishDrain() }
  }

  private func accept(_ raw: OpaquePointer) {
    guard let method = HTTPMethod(command: evhttp_request_get_command(raw)) else {
      evhttp_send_error(raw, 501, nil)
      return
    }
    inFlight += 1
    let connection = connections.of(raw)
    connection?.requestRead()
    if let connection {
      // Unretained: libevent calls this while the connection is open, and
      // the registry holds it until it closes.
      evhttp_request_set_on_complete_cb(
        raw,
        { _, arg in
          // Written in full: a close from now on ends no request.
          let connection = Unmanaged<InboundConnection>.fromOpaque(arg!).takeUnretainedValue()
          connection.server.replyWritten(connection)
        }, Unmanaged.passUnretained(connection).toOpaque())
    } else {
      evhttp_request_set_on_complete_cb(
        raw, { _, arg in Unmanaged<HTTPServer>.fromOpaque(arg!).takeUnretainedValue().completed() },
        Unmanaged.passUnretained(self).toOpaque())
    }
    handler?(ServerRequest(raw: raw, method: method, server: self, connection: connection))
  }

  fileprivate func replyWritten(_ connection: InboundConnection) {
    replyEnded(connection)
    completed()
  }

  /// `body` nil: a reply without one (HEAD), and without `Content-Length`.
  func send(
    _ raw: OpaquePointer, on connection: InboundConnection?, head: ReplyHead, status: Int,
    body: [UInt8]?, closeConnection: Bool = false
  ) {
    guard !isClosed else { return }
    let headers = evhttp_request_get_output_headers(raw)
    if isDraining || closeConnection { evhttp_add_header(headers, "Connection", "close") }
    // Date and Content-Length set here spare evhttp its snprintf of both.
    var now = timeval()
    event_base_gettimeofday_cached(loop.base, &now)
    date.withValue(at: now.tv_sec) { evhttp_add_header(headers, "Date", $0) }
    if let body {
      withDecimalCString(body.count) { evhttp_add_header(headers, "Content-Length", $0) }
      body.withUnsafeBytes { _ = evbuffer_add(replyBuffer, $0.baseAddress, $0.count) }
    }
    // A reply that never finishes writing (the client reset the connection)
    // gets no on_complete: libevent frees its connection instead. The
    // connection's close callback counts it done while `replying`. Without
    // it a drain would wait forever (docs/libevent-boundary.md).
    // Asked of libevent now, not of the connection known at accept: the
    // client may have gone since, and then no callback ends the request.
    guard evhttp_request_get_connection(raw) != nil else {
      // libevent already lost the connection: it frees the request at once.
      head.withReason(for: status) { evhttp_send_reply(raw, Int32(status), $0, replyBuffer) }
      completed()
      return
    }
    if let connection {
      connection.replying = true
      connection.replyBytes = body?.count ?? 0
      replyBytesInFlight += connection.replyBytes
    }
    head.withReason(for: status) { evhttp_send_reply(raw, Int32(status), $0, replyBuffer) }
    if tls != nil, let connection { connection.joinReplyForTLS() }
  }

  /// Sends the head of a streamed reply (`ServerRequest.startStream`). The
  /// connection counts as replying until the stream ends or the
  /// connection closes, as any reply does.
  func startStream(
    _ raw: OpaquePointer, on connection: InboundConnection, of request: ServerRequest,
    head: ReplyHead, status: Int
  ) {
    let headers = evhttp_request_get_output_headers(raw)
    if isDraining { evhttp_add_header(headers, "Connection", "close") }
    var now = timeval()
    event_base_gettimeofday_cached(loop.base, &now)
    date.withValue(at: now.tv_sec) { evhttp_add_header(headers, "Date", $0) }
    connection.replying = true
    connection.replyBytes = 0
    connection.stream = request
    head.withReason(for: status) { evhttp_send_reply_start(raw, Int32(status), $0) }
  }

  /// One piece of a streamed reply, unless more than `limit` bytes wait
  /// to be written to the client already.
  func sendChunk(
    _ raw: OpaquePointer, on connection: InboundConnection, _ bytes: [UInt8], limit: Int
  ) -> Bool {
    guard evbuffer_get_length(bufferevent_get_output(connection.bev)) <= limit else {
      return false
    }
    bytes.withUnsafeBytes { _ = evbuffer_add(replyBuffer, $0.baseAddress, $0.count) }
    evhttp_send_reply_chunk(raw, replyBuffer)
    return true
  }

  /// The client of a streamed reply left: its connection is freed on the
  /// next turn, and the close ends the reply (`connectionClosed`).
  func closeStream(_ raw: OpaquePointer, on connection: InboundConnection) {
    guard !isClosed, let evcon = evhttp_request_get_connection(raw) else { return }
    pendingStreamCloses.append((connection, evcon))
    if dropTimer == nil {
      dropTimer = LoopTimer(loop: loop) { [unowned self] in closeDropped() }
    }
    dropTimer?.arm(afterMs: 0)
  }

  /// libevent reads no body for HEAD, TRACE or a method it does not know.
  /// If such a request declares one anyway, its bytes stay in the buffer
  /// and are read as the start of the next request on the connection
  /// (which then answers a request nobody sent). Its reply closes the
  /// connection instead.
  static func leavesBodyUnread(_ raw: OpaquePointer, method: HTTPMethod) -> Bool {
    guard method == .head || method == .trace || method == .other else { return false }
    let headers = evhttp_request_get_input_headers(raw)
    if evhttp_find_header(headers, "Transfer-Encoding") != nil { return true }
    guard let length = evhttp_find_header(headers, "Content-Length") else { return false }
    return strcmp(length, "0") != 0
  }

  func drop(_ raw: OpaquePointer) {
    guard !isClosed else { return }
    pendingDrops.append(raw)
    if dropTimer == nil {
      // Unowned, not weak: `close()` cancels the timer, and a weak reference
      // would give the server a side table, making every retain of it (a
      // few a request) the slow kind.
      dropTimer = LoopTimer(loop: loop) { [unowned self] in closeDropped() }
    }
    dropTimer?.arm(afterMs: 0)
  }

  private func closeDropped() {
    let drops = pendingDrops
    pendingDrops.removeAll()
    for raw in drops {
      evhttp_connection_free(evhttp_request_get_connection(raw))
      completed()
    }
    let streams = pendingStreamCloses
    pendingStreamCloses.removeAll()
    for (_, evcon) in streams { evhttp_connection_free(evcon) }
  }

  /// libevent is freeing a connection: a reply still being written on it
  /// ends its request.
  func connectionClosed(_ connection: InboundConnection) {
    let stream = connection.stream
    connection.stream = nil
    stream?.streamLost()
    if !pendingStreamCloses.isEmpty {
      pendingStreamCloses.removeAll { $0.connection === connection }
    }
    if connection.replying && !isClosed {
      replyEnded(connection)
      completed()
    }
  }

  private func replyEnded(_ connection: InboundConnection) {
    connection.replying = false
    connection.stream = nil
    replyBytesInFlight -= connection.replyBytes
    connection.replyBytes = 0
  }

  fileprivate func completed() {
    inFlight -= 1
    if isDraining && inFlight == 0 { finishDrain() }
  }

  private func finishDrain() {
    let callback = onDrained
    onDrained = nil
    callback?()
  }

  /// Out of file descriptors, evhttp's listener would retry accept() in a busy
  /// loop (docs/libevent-boundary.md): pause accepting for 100 ms instead.
  fileprivate func acceptFailed(listener: OpaquePointer, error: Int32) {
    evconnlistener_disable(listener)
    if acceptRetryTimer?.isArmed != true { onAcceptPaused?(error) }
    if acceptRetryTimer == nil {
      // Unowned for the same reason as `dropTimer`.
      acceptRetryTimer = LoopTimer(loop: loop) { [unowned self] in
        if let bound {
          evconnlistener_enable(evhttp_bound_socket_get_listener(bound))
        }
      }
    }
    acceptRetryTimer?.arm(afterMs: 100)
  }
}

extension HTTPServer {
  /// A listening socket on `host:port` (a name is looked up once, at start,
  /// before the loop runs), backlog 4096 (capped by the kernel's somaxconn).
  fileprivate static func listen(loop: EventLoop, host: String, port: Int) throws(BindError)
    -> OpaquePointer
  {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
    var found: UnsafeMutablePointer<addrinfo>?
    let looked = getaddrinfo(host, String(port), &hints, &found)
    guard looked == 0, let address = found else {
      throw BindError(host: host, port: port, code: looked == EAI_SYSTEM ? errno : EADDRNOTAVAIL)
    }
    defer { freeaddrinfo(found) }
    let flags = LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC
    guard
      let listener = evconnlistener_new_bind(
        loop.base, nil, nil, UInt32(flags), 4096, address.pointee.ai_addr,
        Int32(address.pointee.ai_addrlen))
    else { throw BindError(host: host, port: port, code: errno) }
    return listener
  }

  /// libevent hands a listener's error callback only the listener's
  /// argument, which evhttp took for its own. So the server that owns each
  /// listener is written down here, by the listener's address, from the
  /// bind until the listener is freed: the callback (only ever run when
  /// accept() failed) looks its server up, with no scan and nothing kept per
  /// thread.
  private static let owners = Mutex<[UInt: UInt]>([:])

  fileprivate static func watchAcceptErrors(of listener: OpaquePointer?, owner: HTTPServer) {
    guard let listener else { return }
    let server = UInt(bitPattern: Unmanaged.passUnretained(owner).toOpaque())
    owners.withLock { $0[UInt(bitPattern: listener)] = server }
    evconnlistener_set_error_cb(listener) { listener, _ in
      let error = errno
      guard let listener,
        let server = HTTPServer.owners.withLock({ $0[UInt(bitPattern: listener)] }),
        let pointer = UnsafeMutableRawPointer(bitPattern: server)
      else { return }
      Unmanaged<HTTPServer>.fromOpaque(pointer).takeUnretainedValue()
        .acceptFailed(listener: listener, error: error)
    }
  }

  fileprivate static func forgetOwner(of listener: OpaquePointer?) {
    guard let listener else { return }
    _ = owners.withLock { $0.removeValue(forKey: UInt(bitPattern: listener)) }
  }

}
