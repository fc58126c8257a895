internal import CLibevent
internal import CLibeventShims
import DequeModule
import Glibc

/// An HTTP/1.1 client for one upstream host, over TCP or TLS, through a
/// pool of keep-alive `evhttp_connection`s. `ConnectionPool` decides
/// everything (which connection, who waits, what is closed); this class
/// only carries its actions out with libevent and reports back what
/// libevent did.
///
/// A new connection resolves a host name first (evdns, on the loop), then
/// dials the addresses in order within the request's deadline: one refused,
/// or not connected in its share of the time left, gives way to the next.
///
/// Every request has a deadline of its own, connect to last byte: libevent's
/// timeouts restart on any activity, so they only back it up.
///
/// Context ownership: a request in flight holds one retain of its
/// `ClientCall`, released exactly once — by the response callback, or by
/// the `abort` action (our cancel, our deadline, shutdown) or a move to the
/// next address, after which libevent runs no callback for it.
public final class HTTPClient {
  public typealias CallID = ConnectionPool.CallID
  public typealias ConnectionID = ConnectionPool.ConnectionID

  /// TLS handshakes of new connections: full, and resumed sessions.
  public struct Handshakes: Equatable, Sendable {
    public var full = 0
    public var resumed = 0

    public init(full: Int = 0, resumed: Int = 0) {
      self.full = full
      self.resumed = resumed
    }
  }

  private let loop: EventLoop
  private let host: String
  private let port: Int
  /// As a C string once: a short `String` passed to C is copied to the heap
  /// on every call.
  private let hostHeader: ContiguousArray<CChar>
  private let timeoutMs: Int64
  private let maxBodyBytes: Int
  private let tls: TLSClientContext?
  /// nil for an IP address.
  private let resolver: NameResolver?
  private var pool: ConnectionPool
  private var calls = IDTable<ClientCall>()
  private var connections = IDTable<PooledConnection>()
  private var nextCall = 0
  private var actions: Deque<ConnectionPool.Action> = []
  private var isApplying = false
  /// Closed connections are freed on the next loop turn: a connection may
  /// be closed from inside one of its own callbacks.
  private var retired: [PooledConnection] = []
  private var retiredHandles: [OpaquePointer] = []
  private lazy var reaper = LoopTimer(loop: loop) { [weak self] in self?.reap() }
  private var isShuttingDown = false
  public private(set) var handshakes = Handshakes()

  /// `maxBodyBytes`: an answer whose body passes it fails as `tooLarge`, and
  /// its connection is closed as soon as the limit is passed. `tls`: HTTPS,
  /// verified against `host`. `resolvConf`: where a host name's resolver
  /// finds its nameservers.
  public init(
    loop: EventLoop, host: String, port: Int, hostHeader: String? = nil,
    tls: TLSClientContext? = nil,
    resolvConf: String = "/etc/resolv.conf", maxConnections: Int, timeoutMs: Int64,
    maxBodyBytes: Int = 64 << 20
  ) {
    self.loop = loop
    self.host = host
    self.port = port
    // RFC 9110 §7.2: an IPv6 literal keeps its brackets.
    let bracketed = host.contains(":") ? "[\(host)]" : host
    let defaultPort = tls == nil ? 80 : 443
    self.hostHeader =
      (hostHeader ?? (port == defaultPort ? bracketed : "\(bracketed):\(port)")).utf8CString
    self.timeoutMs = max(1, timeoutMs)
    self.maxBodyBytes = maxBodyBytes
    self.tls = tls
    pool = ConnectionPool(maxConnections: maxConnections)
    resolver = IPAddress.isNumeric(host) ? nil : NameResolver(loop: loop, resolvConf: resolvConf)
  }

  deinit {
    shutdown()
    reap()
  }

  public var maxConnections: Int { pool.maxConnections }
  public var openConnections: Int { pool.openConnections }
  public var queuedRequests: Int { pool.queuedCalls }
  public var connectionUse: ConnectionUse {
    ConnectionUse(
      busy: pool.openConnections - pool.idleConnections, idle: pool.idleConnections,
      waiting: pool.queuedCalls)
  }

  @discardableResult
  public func send(
    _ request: ClientRequest, completion: @escaping (Result<ClientResponse, ClientFailure>) -> Void
  ) -> ClientCall {
    let call = ClientCall(
      id: CallID(nextCall), request: request, client: self, completion: completion)
    nextCall += 1
    calls[call.id.raw] = call
    apply(pool.request(call.id, idempotent: request.idempotent))
    return call
  }

  /// Fails what is queued and in flight and frees every connection.
  public func shutdown() {
    isShuttingDown = true
    apply(pool.shutdown())
  }

  func cancel(_ call: ClientCall) {
    guard calls.removeValue(forKey: call.id.raw) != nil else { return }
    apply(pool.cancel(call.id))
  }

  // MARK: - Actions

  /// Carries out actions in order. An event reported while this runs (a
  /// completion that starts another request, a synchronous failure) queues
  /// its actions behind the current ones instead of re-entering.
  private func apply(_ next: [ConnectionPool.Action]) {
    actions.append(contentsOf: next)
    guard !isApplying else { return }
    isApplying = true
    defer { isApplying = false }
    while let action = actions.popFirst() { perform(action) }
  }

  private func perform(_ action: ConnectionPool.Action) {
    switch action {
    case .connect(let id):
      connections[id.raw] = PooledConnection(
        id: id, loop: loop, host: host, port: port, tls: tls, timeoutMs: timeoutMs,
        maxBodyBytes: maxBodyBytes,
        onDeadline: { [weak self] id in self?.deadlinePassed(id) },
        onDialTimeout: { [weak self] id in self?.dialTimedOut(id) },
        onPeerClose: { [weak self] id in self?.report { $0.closedByPeer(id) } },
        onConnected: { [weak self] connection in self?.connected(connection) },
        onLoopClosed: { [weak self] in self?.shutdown() })
      apply(pool.connected(id))
    case .send(let call, let connection): start(call, on: connection)
    case .armDeadline(let id):
      guard let connection = connections[id.raw] else { return }
      connection.deadline.arm(afterMs: connection.current?.request.timeoutMs ?? timeoutMs)
    case .disarmDeadline(let id): connections[id.raw]?.deadline.cancel()
    case .abort(let id):
      guard let connection = connections[id.raw], let call = connection.current else { return }
      connection.current = nil
      connection.lookup?.cancel()
      connection.lookup = nil
      abandon(call)
    case .complete(let id, let result):
      guard let call = calls.removeValue(forKey: id.raw) else { return }
      let response = call.response
      call.response = nil
      switch (result, response) {
      case (.response, let response?): call.finish(.success(response))
      case (.failure(let failure), _): call.finish(.failure(failure))
      case (.response, nil): call.finish(.failure(.invalidResponse))
      }
    case .close(let id):
      guard let connection = connections.removeValue(forKey: id.raw) else { return }
      if isShuttingDown {
        connection.freeNow()
      } else {
        retired.append(connection)
        reaper.arm(afterMs: 0)
      }
    }
  }

  /// Cancels libevent's request of a call, if one is out: no callback follows.
  private func abandon(_ call: ClientCall) {
    guard let raw = call.raw else { return }
    call.raw = nil
    evhttp_cancel_request(raw)
    Unmanaged.passUnretained(call).release()
  }

  private func reap() {
    // The loop's registry holds each until it is freed.
    for connection in retired { connection.freeNow() }
    retired.removeAll()
    for handle in retiredHandles { evhttp_connection_free(handle) }
    retiredHandles.removeAll()
  }

  private func report(_ event: (inout ConnectionPool) -> [ConnectionPool.Action]) {
    apply(event(&pool))
  }

  // MARK: - libevent

  private func start(_ id: CallID, on connectionID: ConnectionID) {
    guard let call = calls[id.raw], let connection = connections[connectionID.raw] else { return }
    call.connection = connectionID
    connection.current = call
    guard connection.isFresh else {
      makeRequest(call, on: connection)
      return
    }
    guard let resolver else {
      connection.use([host])
      dial(connection)
      return
    }
    let lookup = resolver.resolve(host) { [weak self] result in
      self?.resolved(connectionID, result)
    }
    // An answer that came at once has already dialed (or failed the call).
    if lookup.isPending { connection.lookup = lookup }
  }

  /// A request's deadline passed. While its host name is still being
  /// looked up, the resolver is what failed to answer in time: a DNS
  /// failure, not the upstream's timeout.
  private func deadlinePassed(_ id: ConnectionID) {
    guard let connection = connections[id.raw], let lookup = connection.lookup else {
      report { $0.deadlinePassed(id) }
      return
    }
    lookup.cancel()
    connection.lookup = nil
    connection.current = nil
    report { $0.responded(id, .failure(.dns("no answer from the resolver in time"))) }
  }

  private func resolved(_ id: ConnectionID, _ result: Result<[String], ClientFailure>) {
    guard let connection = connections[id.raw], connection.current != nil else { return }
    connection.lookup = nil
    switch result {
    case .success(let addresses):
      connection.use(addresses)
      dial(connection)
    case .failure(let failure):
      connection.current = nil
      report { $0.responded(id, .failure(failure)) }
    }
  }

  /// Connects to the connection's next address and sends its call there.
  private func dial(_ connection: PooledConnection) {
    guard let call = connection.current else { return }
    let (ok, previous) = connection.dialNext()
    if let previous {
      retiredHandles.append(previous)
      reaper.arm(afterMs: 0)
    }
    guard ok else {
      connection.current = nil
      report { $0.responded(connection.id, .failure(Self.unlessLocal(.connect))) }
      return
    }
    makeRequest(call, on: connection)
  }

  /// An address did not connect in its share of the time: the next one.
  private func dialTimedOut(_ id: ConnectionID) {
    guard let connection = connections[id.raw], let call = connection.current,
      !connection.isConnected, connection.hasAddressLeft
    else { return }
    abandon(call)
    dial(connection)
  }

  private func connected(_ connection: PooledConnection) {
    switch connection.resumedSession {
    case true?: handshakes.resumed += 1
    case false?: handshakes.full += 1
    case nil: break
    }
  }

  private func makeRequest(_ call: ClientCall, on connection: PooledConnection) {
    guard let evcon = connection.evcon else { return }
    let arg = Unmanaged.passRetained(call).toOpaque()
    let raw = evhttp_request_new(
      { raw, arg in
        let call = Unmanaged<ClientCall>.fromOpaque(arg!).takeRetainedValue()
        call.client?.responded(call, raw: raw)
      }, arg)!
    evhttp_request_set_header_cb(raw) { raw, arg in
      CLibeventShims_skip_interim_response(raw, arg)
    }
    evhttp_request_set_error_cb(raw) { error, arg in
      Unmanaged<ClientCall>.fromOpaque(arg!).takeUnretainedValue().reportedError = error
    }
    call.reportedError = nil
    let headers = evhttp_request_get_output_headers(raw)
    _ = hostHeader.withUnsafeBufferPointer { evhttp_add_header(headers, "Host", $0.baseAddress) }
    if !call.request.idempotent { evhttp_add_header(headers, "Connection", "close") }
    // withCString: a short `String` passed to C directly is copied to the heap.
    for (name, value) in call.request.headers {
      _ = name.withCString { name in value.withCString { evhttp_add_header(headers, name, $0) } }
    }
    if !call.request.body.isEmpty {
      call.request.body.withUnsafeBytes {
        _ = evbuffer_add(evhttp_request_get_output_buffer(raw), $0.baseAddress, $0.count)
      }
    }
    call.raw = raw
    let made = call.request.path.withCString {
      evhttp_make_request(evcon, raw, call.request.method.command, $0)
    }
    if made != 0 {
      // libevent returns -1 with the request unqueued and not freed (a failed
      // connect setup); it is ours to free, and the context ours to release.
      connection.current = nil
      call.raw = nil
      evhttp_request_free(raw)
      Unmanaged.passUnretained(call).release()
      report { $0.responded(connection.id, .failure(Self.unlessLocal(.connect))) }
    }
  }

  private func responded(_ call: ClientCall, raw: OpaquePointer?) {
    guard let id = call.connection, let connection = connections[id.raw],
      connection.current === call
    else { return }
    call.raw = nil
    let outcome: ConnectionPool.Ending
    if let raw, evhttp_request_get_response_code(raw) != 0 {
      let status = Int(evhttp_request_get_response_code(raw))
      if !(200...599).contains(status) {
        // Not a final answer (a `101` nobody asked for): whatever follows
        // on this connection belongs to no request, so it is closed.
        outcome = .failure(.invalidResponse)
      } else {
        call.response = ClientResponse(status: status, body: Self.body(of: raw))
        outcome = .response
      }
    } else if !connection.isConnected {
      // Never connected (no request went out): a TLS failure ends the
      // attempt; a refused or failed connect moves to the next address.
      if let reason = connection.handshakeFailure() {
        outcome = .failure(.tls(reason))
      } else if connection.hasAddressLeft {
        dial(connection)
        return
      } else {
        outcome = .failure(Self.unlessLocal(.connect))
      }
    } else {
      outcome = .failure(Self.unlessLocal(Self.failure(for: call.reportedError)))
    }
    connection.current = nil
    report { $0.responded(id, outcome) }
  }

  private static func failure(for error: evhttp_request_error?) -> ClientFailure {
    switch error {
    case EVREQ_HTTP_TIMEOUT: .timeout
    case EVREQ_HTTP_DATA_TOO_LONG: .tooLarge
    case EVREQ_HTTP_INVALID_HEADER: .invalidResponse
    default: .closed
    }
  }

  /// A connection that failed or closed may have failed here, not there.
  private static func unlessLocal(_ failure: ClientFailure) -> ClientFailure {
    switch failure {
    case .connect, .closed: ProcessLimits.canOpenSocket() ? failure : .local
    default: failure
    }
  }

  private static func body(of raw: OpaquePointer) -> [UInt8] {
    guard let buffer = evhttp_request_get_input_buffer(raw) else { return [] }
    let length = evbuffer_get_length(buffer)
    guard length > 0 else { return [] }
    return [UInt8](unsafeUninitializedCapacity: length) { bytes, count in
      count = Int(evbuffer_copyout(buffer, bytes.baseAddress, length))
    }
  }

}
