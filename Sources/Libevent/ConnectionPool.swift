import DequeModule

/// The rules of the upstream connection pool as a pure state machine: events
/// in, actions out. No libevent, no clock, no closures: calls and
/// connections are ids, and `HTTPClient` turns the actions into evhttp calls.
///
/// - At most `maxConnections` connections; requests beyond wait in order.
/// - One request per connection at a time (libevent does not pipeline).
/// - An idempotent request may reuse a warm connection (one whose socket may
///   still be open from an earlier request); a non-idempotent one never
///   does — the server may have closed that socket a moment ago, and a
///   request it never saw must not fail. To make room it closes a warm one.
/// - A connection whose request failed, timed out or was cancelled is
///   closed, never reused.
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

  /// How a request on a connection ended, as the executor saw it.
  public enum Outcome: Equatable, Sendable {
    /// A complete HTTP response (any status): the connection may be reused.
    case response
    case failure(ClientFailure)
  }

  /// What a call's completion reports; the response itself stays with the executor.
  public enum CallResult: Equatable, Sendable {
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
    case complete(CallID, CallResult)
    case close(ConnectionID)
  }

  private enum ConnectionState {
    case starting(CallID)
    case busy(CallID, idempotent: Bool)
    case idle(warm: Bool)
  }

  private enum CallState {
    case queued(idempotent: Bool)
    case inFlight(ConnectionID)
  }

  public let maxConnections: Int
  private var connections: [ConnectionID: ConnectionState] = [:]
  /// Idle connections, most recently used last.
  private var idle: [ConnectionID] = []
  private var waiting: Deque<CallID> = []
  private var calls: [CallID: CallState] = [:]
  private var nextConnection = 0
  private var isShutDown = false

  public init(maxConnections: Int) { self.maxConnections = max(1, maxConnections) }

  public var openConnections: Int { connections.count }
  public var queuedCalls: Int { waiting.count }

  // MARK: - Events

  public mutating func request(_ call: CallID, idempotent: Bool) -> [Action] {
    guard !isShutDown else { return [.complete(call, .failure(.closed))] }
    calls[call] = .queued(idempotent: idempotent)
    waiting.append(call)
    return dispatch()
  }

  /// The connection asked for by `.connect` exists: its request goes out.
  public mutating func connected(_ connection: ConnectionID) -> [Action] {
    guard case .starting(let call)? = connections[connection],
      case .queued(let idempotent)? = calls[call]
    else { return [] }
    connections[connection] = .busy(call, idempotent: idempotent)
    calls[call] = .inFlight(connection)
    return [.send(call, on: connection), .armDeadline(connection)]
  }

  public mutating func responded(_ connection: ConnectionID, _ outcome: Outcome) -> [Action] {
    guard case .busy(let call, let idempotent)? = connections[connection] else { return [] }
    calls[call] = nil
    var actions: [Action] = [.disarmDeadline(connection)]
    switch outcome {
    case .response:
      // A non-idempotent request was sent with `Connection: close`.
      connections[connection] = .idle(warm: idempotent)
      idle.append(connection)
      actions.append(.complete(call, .response))
    case .failure(let failure):
      connections[connection] = nil
      actions += [.complete(call, .failure(failure)), .close(connection)]
    }
    return actions + dispatch()
  }

  public mutating func deadlinePassed(_ connection: ConnectionID) -> [Action] {
    guard case .busy(let call, _)? = connections[connection] else { return [] }
    calls[call] = nil
    connections[connection] = nil
    return [.abort(connection), .complete(call, .failure(.timeout)), .close(connection)]
      + dispatch()
  }

  /// The server closed a connection's socket. An idle one is cold now; a
  /// busy one hears about it through its response.
  public mutating func closedByPeer(_ connection: ConnectionID) -> [Action] {
    if case .idle? = connections[connection] { connections[connection] = .idle(warm: false) }
    return []
  }

  /// The caller gave up: a queued call just leaves; one in flight is
  /// aborted and its connection closed. Either way it never completes.
  public mutating func cancel(_ call: CallID) -> [Action] {
    switch calls.removeValue(forKey: call) {
    case .queued?:
      waiting.removeAll { $0 == call }
      return []
    case .inFlight(let connection)?:
      connections[connection] = nil
      return [.disarmDeadline(connection), .abort(connection), .close(connection)] + dispatch()
    case nil:
      return []
    }
  }

  /// Fails what is queued and what is in flight, closes every connection;
  /// later requests fail at once.
  public mutating func shutdown() -> [Action] {
    guard !isShutDown else { return [] }
    isShutDown = true
    var actions: [Action] = []
    for (connection, state) in connections.sorted(by: { $0.key.raw < $1.key.raw }) {
      if case .busy(let call, _) = state {
        actions += [
          .disarmDeadline(connection), .abort(connection), .complete(call, .failure(.closed)),
        ]
      }
      actions.append(.close(connection))
    }
    for call in waiting { actions.append(.complete(call, .failure(.closed))) }
    connections.removeAll()
    idle.removeAll()
    waiting.removeAll()
    calls.removeAll()
    return actions
  }

  // MARK: - Dispatch

  /// Hands waiting calls, in order, to idle or new connections.
  private mutating func dispatch() -> [Action] {
    var actions: [Action] = []
    while let call = waiting.first, case .queued(let idempotent)? = calls[call] {
      guard let (connection, isNew, prelude) = connection(idempotent: idempotent) else { break }
      waiting.removeFirst()
      actions += prelude
      if isNew {
        connections[connection] = .starting(call)
      } else {
        connections[connection] = .busy(call, idempotent: idempotent)
        calls[call] = .inFlight(connection)
        actions += [.send(call, on: connection), .armDeadline(connection)]
      }
    }
    return actions
  }

  /// A connection for the next call, with the actions that must come first.
  private mutating func connection(idempotent: Bool) -> (ConnectionID, isNew: Bool, [Action])? {
    if idempotent, let reused = takeIdle(where: { $0 }) ?? takeIdle(where: { !$0 }) {
      return (reused, false, [])
    }
    if !idempotent, let cold = takeIdle(where: { !$0 }) { return (cold, false, []) }
    if connections.count < maxConnections { return newConnection(after: []) }
    if !idempotent, let warm = takeIdle(where: { $0 }) {
      connections[warm] = nil
      return newConnection(after: [.close(warm)])
    }
    return nil
  }

  private mutating func newConnection(after prelude: [Action]) -> (
    ConnectionID, isNew: Bool, [Action]
  ) {
    let connection = ConnectionID(nextConnection)
    nextConnection += 1
    return (connection, true, prelude + [.connect(connection)])
  }

  /// The most recently used idle connection whose warmth matches.
  private mutating func takeIdle(where matches: (Bool) -> Bool) -> ConnectionID? {
    guard
      let index = idle.lastIndex(where: {
        if case .idle(let warm)? = connections[$0] { matches(warm) } else { false }
      })
    else { return nil }
    return idle.remove(at: index)
  }
}
