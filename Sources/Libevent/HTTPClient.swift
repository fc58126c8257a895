import CLibevent
import DequeModule
import Glibc

/// An HTTP/1.1 client for one upstream host with a pool of keep-alive
/// `evhttp_connection`s, at most one request on each at a time. Requests
/// beyond `maxConnections` wait here, in order (never queued on a libevent
/// connection, where cancel and free give no callback).
///
/// Every request has a deadline of its own, connect to last byte: libevent's
/// timeouts restart on any activity, so they only back it up.
///
/// Context ownership: each in-flight request holds one retain of its
/// `ClientCall`, released exactly once — by the response callback, by
/// `abort` (our cancel or deadline), or by `shutdown` when it frees the
/// connection (libevent runs no callback in those two cases).
public final class HTTPClient {
  private let loop: EventLoop
  private let host: String
  private let port: Int
  private let hostHeader: String
  private let timeoutMs: Int64
  public let maxConnections: Int
  private var dns: OpaquePointer?
  private var idleWarm: [PooledConnection] = []
  private var idleCold: [PooledConnection] = []
  private var busy: [ObjectIdentifier: PooledConnection] = [:]
  private var waiting: Deque<ClientCall> = []
  private var retired: [PooledConnection] = []
  private lazy var reaper = LoopTimer(loop: loop) { [weak self] in self?.retired.removeAll() }
  private var isShutDown = false

  public init(loop: EventLoop, host: String, port: Int, maxConnections: Int, timeoutMs: Int64) {
    self.loop = loop
    self.host = host
    self.port = port
    self.hostHeader = port == 80 ? host : "\(host):\(port)"
    self.maxConnections = max(1, maxConnections)
    self.timeoutMs = max(1, timeoutMs)
    if !Self.isNumericAddress(host) {
      // With a nil dns_base libevent would resolve with a blocking getaddrinfo.
      dns = evdns_base_new(
        loop.base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE)
    }
  }

  deinit {
    shutdown()
    if let dns { evdns_base_free(dns, 0) }
  }

  public var openConnections: Int { idleWarm.count + idleCold.count + busy.count }
  public var queuedRequests: Int { waiting.count }

  @discardableResult
  public func send(
    _ request: ClientRequest, completion: @escaping (Result<ClientResponse, ClientFailure>) -> Void
  ) -> ClientCall {
    let call = ClientCall(request: request, client: self, completion: completion)
    guard !isShutDown else {
      call.finish(.failure(.closed))
      return call
    }
    waiting.append(call)
    pump()
    return call
  }

  /// Frees every connection (aborting what is in flight, without completions)
  /// and fails what is queued. Used on shutdown.
  public func shutdown() {
    isShutDown = true
    let queued = waiting
    waiting.removeAll()
    let inFlight = busy.values
    busy.removeAll()
    // Settle every context first, then run completions: a completion may
    // cancel other calls, which must find them already finished.
    var failed: [ClientCall] = []
    for connection in inFlight {
      guard let call = connection.current else { continue }
      connection.current = nil
      call.state = .finished
      connection.freeNow()
      Unmanaged.passUnretained(call).release()
      failed.append(call)
    }
    for call in queued { call.state = .finished }
    for call in failed + queued { call.finish(.failure(.closed)) }
    idleWarm.removeAll()
    idleCold.removeAll()
    retired.removeAll()
  }

  func cancel(_ call: ClientCall) {
    switch call.state {
    case .queued:
      if let index = waiting.firstIndex(where: { $0 === call }) { waiting.remove(at: index) }
      call.state = .finished
    case .inFlight(let connection, let raw):
      abort(call, connection: connection, raw: raw)
      release(connection)
      call.state = .finished
      pump()
    case .finished:
      break
    }
  }

  // MARK: - Dispatch

  private var isPumping = false

  /// Hands waiting calls to free connections, in order. Not re-entered: a
  /// call that completes inside `dispatch` leaves the rest to this loop
  /// instead of recursing once per queued call.
  private func pump() {
    guard !isPumping else { return }
    isPumping = true
    defer { isPumping = false }
    while let call = waiting.first, let connection = connection(for: call.request) {
      waiting.removeFirst()
      dispatch(call, on: connection)
    }
  }

  /// Idempotent requests prefer a warm connection; the others need a cold
  /// one, and a warm idle one is retired to make room if the pool is full.
  private func connection(for request: ClientRequest) -> PooledConnection? {
    if request.idempotent, let warm = idleWarm.popLast() { return warm }
    if let cold = idleCold.popLast() { return cold }
    // A "warm" idle connection whose socket the server has since closed is cold.
    if !request.idempotent, let index = idleWarm.lastIndex(where: { !$0.isWarm }) {
      return idleWarm.remove(at: index)
    }
    if openConnections < maxConnections { return makeConnection() }
    if !request.idempotent, let warm = idleWarm.popLast() {
      retired.append(warm)
      reaper.arm(afterMs: 0)
      return makeConnection()
    }
    return nil
  }

  private func makeConnection() -> PooledConnection {
    PooledConnection(loop: loop, dns: dns, host: host, port: port, timeoutMs: timeoutMs) {
      [unowned self] connection in
      self.deadlinePassed(on: connection)
    }
  }

  private func dispatch(_ call: ClientCall, on connection: PooledConnection) {
    let arg = Unmanaged.passRetained(call).toOpaque()
    let raw = evhttp_request_new(
      { raw, arg in
        let call = Unmanaged<ClientCall>.fromOpaque(arg!).takeRetainedValue()
        call.client?.responded(call, raw: raw)
      }, arg)!
    evhttp_request_set_error_cb(raw) { error, arg in
      Unmanaged<ClientCall>.fromOpaque(arg!).takeUnretainedValue().reportedError = error
    }
    let headers = evhttp_request_get_output_headers(raw)
    evhttp_add_header(headers, "Host", hostHeader)
    if !call.request.idempotent { evhttp_add_header(headers, "Connection", "close") }
    for (name, value) in call.request.headers { evhttp_add_header(headers, name, value) }
    if !call.request.body.isEmpty {
      call.request.body.withUnsafeBytes {
        _ = evbuffer_add(evhttp_request_get_output_buffer(raw), $0.baseAddress, $0.count)
      }
    }
    busy[ObjectIdentifier(connection)] = connection
    connection.current = call
    call.state = .inFlight(connection, raw)
    connection.isWarm = true
    connection.deadline.arm(afterMs: timeoutMs)
    // A refused connect may complete the call before this returns.
    if evhttp_make_request(connection.evcon, raw, call.request.method.command, call.request.path)
      != 0
    {
      // libevent returns -1 with the request unqueued and not freed (a failed
      // connect setup); it is ours to free, and the context ours to release.
      evhttp_request_free(raw)
      Unmanaged.passUnretained(call).release()
      release(connection)
      call.finish(.failure(.connect))
    }
  }

  // MARK: - Completion

  private func responded(_ call: ClientCall, raw: OpaquePointer?) {
    guard case .inFlight(let connection, _) = call.state else { return }
    let result: Result<ClientResponse, ClientFailure>
    if let raw {
      let status = Int(evhttp_request_get_response_code(raw))
      result =
        status == 0
        ? .failure(.connect) : .success(ClientResponse(status: status, body: Self.body(of: raw)))
    } else {
      result = .failure(Self.failure(for: call.reportedError))
    }
    release(connection)
    call.state = .finished
    pump()
    call.finish(result)
  }

  private func deadlinePassed(on connection: PooledConnection) {
    guard let call = connection.current, case .inFlight(_, let raw) = call.state else { return }
    abort(call, connection: connection, raw: raw)
    release(connection)
    pump()
    call.finish(.failure(.timeout))
  }

  /// Cancels the head-of-line request: libevent calls only the error
  /// callback (synchronously) and resets the connection; we own the release.
  private func abort(_ call: ClientCall, connection: PooledConnection, raw: OpaquePointer) {
    call.state = .finished
    evhttp_cancel_request(raw)
    Unmanaged.passUnretained(call).release()
    connection.isWarm = false
  }

  private func release(_ connection: PooledConnection) {
    connection.deadline.cancel()
    connection.current = nil
    guard busy.removeValue(forKey: ObjectIdentifier(connection)) != nil, !isShutDown else { return }
    if connection.isWarm { idleWarm.append(connection) } else { idleCold.append(connection) }
  }

  private static func failure(for error: evhttp_request_error?) -> ClientFailure {
    switch error {
    case EVREQ_HTTP_TIMEOUT: .timeout
    case EVREQ_HTTP_INVALID_HEADER, EVREQ_HTTP_DATA_TOO_LONG: .invalidResponse
    default: .closed
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

  private static func isNumericAddress(_ host: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
  }
}
