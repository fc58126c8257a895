import DequeModule

/// The rules of the upstream connection pool as a pure state machine: events
/// in, actions out. No libevent, no clock, no closures: calls and
/// connections are ids, and `HTTPClient` turns the actions into evhttp calls.
///
/// - At most `maxConnections` connections; requests beyond wait in order.
/// - One request per connection at a time (libevent does not pipeline).
/// - An idempotent request may reuse an idle connection; a non-idempotent
///   one never does — the server may have closed that socket a moment ago,
///   and a request it never saw must not fail. It gets a new connection,
///   closing an idle one to make room, and is sent with `Connection: close`.
/// - A connection is never reconnected: one the server closed, and one
///   whose request failed, timed out or was cancelled, is closed and gone.
/// - After `shutdown`, every call completes with `.closed`, at once.
public struct ConnectionPool {
  public struct CallID: Hashable, Sendable, CustomStringConvertible {
    public let raw: Int
    public init(_ raw: Int) { self.raw = raw }
    public var description: String { "r\(raw)" }
  }

  public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let raw: Int
    public init(_ raw: Int) { self.raw = raw }
    public var description: String { "c\(raw)" }
  }

  /// How a request ended: reported by the executor in `responded`, and
  /// handed back in `complete` (the response itself stays with the executor).
  public enum Ending: Equatable, Sendable {
    /// A complete HTTP response (any status): the connection may be reused.
    case response
    case failure(ClientFailure)
  }

  public enum Action: Equatable, Sendable {
    /// Make a new connection (no socket yet), then report `connected`.
    case connect(ConnectionID)
    case send(CallID, on: ConnectionID)
    case armDeadline(ConnectionID)
    case disarmDeadline(ConnectionID)
    /// Cancel the request in flight on the connection: no callback follows.
    case abort(ConnectionID)
    case complete(CallID, Ending)
    case close(ConnectionID)
  }

  private enum ConnectionState {
    case starting(CallID)
    /// `closing`: the server closed it while the answer was being read
    /// (`Connection: close`); it goes once the answer is in.
    case busy(CallID, idempotent: Bool, closing: Bool)
    /// In `idle`.
    case idle
  }

  private enum CallState {
    case queued(idempotent: Bool)
    case inFlight(ConnectionID)
  }

  public let maxConnections: Int
  private var connections = IDTable<ConnectionState>()
  /// Idle connections, most recently used last.
  private var idle: [ConnectionID] = []
  private var waiting: Deque<CallID> = []
  private var calls = IDTable<CallState>()
  private var nextConnection = 0
  private var isShutDown = false
  private var out: [Action] = []

  public init(maxConnections: Int) { self.maxConnections = max(1, maxConnections) }

  public var openConnections: Int { connections.count }
  public var queuedCalls: Int { waiting.count }
  /// Open and waiting for a request.
  public var idleConnections: Int { idle.count }

  // MARK: - Events
  //
  // Each event returns the actions it calls for. They are built in `out`,
  // whose storage is reused from event to event once the caller has taken
  // them: no array is allocated per event.

  public mutating func request(_ call: CallID, idempotent: Bool) -> [Action] {
    begin()
    guard !isShutDown else { return emit(.complete(call, .failure(.closed))) }
    calls[call.raw] = .queued(idempotent: idempotent)
    waiting.append(call)
    dispatch()
    return out
  }

  /// The connection asked for by `.connect` exists: its request goes out.
  public mutating func connected(_ connection: ConnectionID) -> [Action] {
    begin()
    guard case .starting(let call)? = connections[connection.raw],
      case .queued(let idempotent)? = calls[call.raw]
    else { return out }
    start(call, idempotent: idempotent, on: connection)
    return out
  }

  public mutating func responded(_ connection: ConnectionID, _ ending: Ending) -> [Action] {
    begin()
    guard case .busy(let call, let idempotent, let closing)? = connections[connection.raw] else {
      return out
    }
    calls[call.raw] = nil
    out.append(.disarmDeadline(connection))
    switch ending {
    case .response where idempotent && !closing:
      connections[connection.raw] = .idle
      idle.append(connection)
      out.append(.complete(call, .response))
    case .response:
      // A non-idempotent request was sent with `Connection: close`.
      connections[connection.raw] = nil
      out.append(.complete(call, .response))
      out.append(.close(connection))
    case .failure(let failure):
      connections[connection.raw] = nil
      out.append(.complete(call, .failure(failure)))
      out.append(.close(connection))
    }
    dispatch()
    return out
  }

  public mutating func deadlinePassed(_ connection: ConnectionID) -> [Action] {
    begin()
    guard case .busy(let call, _, _)? = connections[connection.raw] else { return out }
    calls[call.raw] = nil
    connections[connection.raw] = nil
    out.append(.abort(connection))
    out.append(.complete(call, .failure(.timeout)))
    out.append(.close(connection))
    dispatch()
    return out
  }

  /// The server closed a connection's socket: an idle one is closed (and
  /// makes room); a busy one goes once its answer is in.
  public mutating func closedByPeer(_ connection: ConnectionID) -> [Action] {
    begin()
    switch connections[connection.raw] {
    case .busy(let call, let idempotent, _)?:
      connections[connection.raw] = .busy(call, idempotent: idempotent, closing: true)
    case .idle?:
      idle.removeAll { $0 == connection }
      connections[connection.raw] = nil
      out.append(.close(connection))
      dispatch()
    case .starting?, nil:
      break
    }
    return out
  }

  /// The caller gave up: a queued call just leaves; one in flight is
  /// aborted and its connection closed. Either way it never completes.
  public mutating func cancel(_ call: CallID) -> [Action] {
    begin()
    switch calls.removeValue(forKey: call.raw) {
    case .queued?:
      waiting.removeAll { $0 == call }
    case .inFlight(let connection)?:
      connections[connection.raw] = nil
      out.append(.disarmDeadline(connection))
      out.append(.abort(connection))
      out.append(.close(connection))
      dispatch()
    case nil:
      break
    }
    return out
  }

  /// Fails what is queued and what is in flight, closes every connection;
  /// later requests fail at once.
  public mutating func shutdown() -> [Action] {
    begin()
    guard !isShutDown else { return out }
    isShutDown = true
    for (raw, state) in connections.entries.sorted(by: { $0.key < $1.key }) {
      let connection = ConnectionID(raw)
      if case .busy(let call, _, _) = state {
        out.append(.disarmDeadline(connection))
        out.append(.abort(connection))
        out.append(.complete(call, .failure(.closed)))
      }
      out.append(.close(connection))
    }
    for call in waiting { out.append(.complete(call, .failure(.closed))) }
    connections.removeAll()
    idle.removeAll()
    waiting.removeAll()
    calls.removeAll()
    return out
  }

  // MARK: - Dispatch

  private mutating func begin() { out.removeAll(keepingCapacity: true) }

  private mutating func emit(_ action: Action) -> [Action] {
    out.append(action)
    return out
  }

  private mutating func start(_ call: CallID, idempotent: Bool, on connection: ConnectionID) {
    connections[connection.raw] = .busy(call, idempotent: idempotent, closing: false)
    calls[call.raw] = .inFlight(connection)
    out.append(.send(call, on: connection))
    out.append(.armDeadline(connection))
  }

  /// Hands waiting calls, in order, to idle or new connections.
  private mutating func dispatch() {
    while let call = waiting.first, case .queued(let idempotent)? = calls[call.raw] {
      if let reused = idleConnection(idempotent: idempotent) {
        waiting.removeFirst()
        start(call, idempotent: idempotent, on: reused)
      } else if let fresh = newConnection(idempotent: idempotent) {
        waiting.removeFirst()
        connections[fresh.raw] = .starting(call)
      } else {
        break
      }
    }
  }

  /// An idle connection this call may use: for an idempotent one the most
  /// recently used, for another none.
  private mutating func idleConnection(idempotent: Bool) -> ConnectionID? {
    idempotent ? idle.popLast() : nil
  }

  /// A new connection if there is room — for a non-idempotent call, made by
  /// closing the least recently used idle one if need be — announced with
  /// `.connect`.
  private mutating func newConnection(idempotent: Bool) -> ConnectionID? {
    if connections.count >= maxConnections {
      guard !idempotent, !idle.isEmpty else { return nil }
      let oldest = idle.removeFirst()
      connections[oldest.raw] = nil
      out.append(.close(oldest))
    }
    let connection = ConnectionID(nextConnection)
    nextConnection += 1
    out.append(.connect(connection))
    return connection
  }
}
