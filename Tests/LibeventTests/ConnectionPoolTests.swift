import Testing

@testable import Libevent

/// The pool's rules as tables: each row is an event and the actions it must
/// produce, in order. No sockets, no clock, nothing sleeps.
@Suite("ConnectionPool state machine")
struct ConnectionPoolTests {
  typealias Action = ConnectionPool.Action

  enum Event: CustomStringConvertible {
    case get(Int)
    case post(Int)
    case connected(Int)
    case ok(Int)
    case failed(Int, ClientFailure)
    case deadline(Int)
    case peerClosed(Int)
    case cancel(Int)
    case shutdown

    var description: String {
      switch self {
      case .get(let r): "GET r\(r)"
      case .post(let r): "POST r\(r)"
      case .connected(let c): "connected c\(c)"
      case .ok(let c): "response on c\(c)"
      case .failed(let c, let f): "\(f) on c\(c)"
      case .deadline(let c): "deadline of c\(c)"
      case .peerClosed(let c): "peer closed c\(c)"
      case .cancel(let r): "cancel r\(r)"
      case .shutdown: "shutdown"
      }
    }
  }

  static func r(_ n: Int) -> ConnectionPool.CallID { .init(n) }
  static func c(_ n: Int) -> ConnectionPool.ConnectionID { .init(n) }
  /// A request going out on a connection: what follows `connected` or reuse.
  static func sent(_ call: Int, on connection: Int) -> [Action] {
    [.send(r(call), on: c(connection)), .armDeadline(c(connection))]
  }

  /// r0 sent on a new c0 and still in flight.
  static let busyC0: [(Event, [Action])] = [
    (.get(0), [.connect(c(0))]),
    (.connected(0), sent(0, on: 0)),
  ]

  /// r0 answered: c0 is idle.
  static let warmC0: [(Event, [Action])] =
    busyC0 + [(.ok(0), [.disarmDeadline(c(0)), .complete(r(0), .response)])]

  private func run(max: Int, _ rows: [(Event, [Action])]) {
    var pool = ConnectionPool(maxConnections: max)
    for (index, (event, expected)) in rows.enumerated() {
      let actions: [Action]
      switch event {
      case .get(let n): actions = pool.request(Self.r(n), idempotent: true)
      case .post(let n): actions = pool.request(Self.r(n), idempotent: false)
      case .connected(let n): actions = pool.connected(Self.c(n))
      case .ok(let n): actions = pool.responded(Self.c(n), .response)
      case .failed(let n, let failure): actions = pool.responded(Self.c(n), .failure(failure))
      case .deadline(let n): actions = pool.deadlinePassed(Self.c(n))
      case .peerClosed(let n): actions = pool.closedByPeer(Self.c(n))
      case .cancel(let n): actions = pool.cancel(Self.r(n))
      case .shutdown: actions = pool.shutdown()
      }
      #expect(actions == expected, "row \(index): \(event)")
    }
  }

  @Test func atMostMaxConnectionsAndTheRestWaitInOrder() {
    run(
      max: 2,
      Self.busyC0 + [
        (.get(1), [.connect(Self.c(1))]),
        (.connected(1), Self.sent(1, on: 1)),
        (.get(2), []),
        (.get(3), []),
        // First in, first served, on the connection that just came free.
        (
          .ok(1),
          [.disarmDeadline(Self.c(1)), .complete(Self.r(1), .response)] + Self.sent(2, on: 1)
        ),
        (
          .ok(0),
          [.disarmDeadline(Self.c(0)), .complete(Self.r(0), .response)] + Self.sent(3, on: 0)
        ),
        (.ok(0), [.disarmDeadline(Self.c(0)), .complete(Self.r(3), .response)]),
      ])
  }

  @Test func idempotentRequestsReuseTheLatestIdleConnection() {
    run(
      max: 4,
      Self.warmC0 + [
        (.get(1), Self.sent(1, on: 0)),
        (.ok(0), [.disarmDeadline(Self.c(0)), .complete(Self.r(1), .response)]),
        // Idle connections are closed too.
        (.shutdown, [.close(Self.c(0))]),
      ])
  }

  @Test func aPostNeverReusesAConnectionAndItsOwnIsClosedAfter() {
    run(
      max: 4,
      Self.warmC0 + [
        // c0 is idle; the POST gets a fresh connection.
        (.post(1), [.connect(Self.c(1))]),
        (.connected(1), Self.sent(1, on: 1)),
        // Sent with `Connection: close`: c1 is closed once answered.
        (
          .ok(1),
          [.disarmDeadline(Self.c(1)), .complete(Self.r(1), .response), .close(Self.c(1))]
        ),
        (.post(2), [.connect(Self.c(2))]),
      ])
  }

  @Test func aPostInAFullPoolClosesAnIdleConnectionToMakeRoom() {
    run(
      max: 1,
      Self.warmC0 + [
        (.post(1), [.close(Self.c(0)), .connect(Self.c(1))]),
        (.connected(1), Self.sent(1, on: 1)),
      ])
  }

  /// Never reconnected (for TLS, libevent's reconnection of the same
  /// bufferevent is a known trouble spot): closed, it makes room.
  @Test func anIdleConnectionTheServerClosedIsGoneAndMakesRoom() {
    run(
      max: 1,
      Self.busyC0 + [
        (.ok(0), [.disarmDeadline(Self.c(0)), .complete(Self.r(0), .response)]),
        (.get(1), Self.sent(1, on: 0)),
        (.get(2), []),
        (
          .ok(0),
          [.disarmDeadline(Self.c(0)), .complete(Self.r(1), .response)] + Self.sent(2, on: 0)
        ),
        (.ok(0), [.disarmDeadline(Self.c(0)), .complete(Self.r(2), .response)]),
        (.peerClosed(0), [.close(Self.c(0))]),
        (.get(3), [.connect(Self.c(1))]),
      ])
  }

  /// libevent reports the close of a `Connection: close` answer before the
  /// answer itself.
  @Test func aConnectionClosedWhileItsAnswerIsReadGoesAfterTheAnswer() {
    run(
      max: 1,
      Self.busyC0 + [
        (.get(1), []),
        (.peerClosed(0), []),
        (
          .ok(0),
          [.disarmDeadline(Self.c(0)), .complete(Self.r(0), .response), .close(Self.c(0))]
            + [.connect(Self.c(1))]
        ),
        (.connected(1), Self.sent(1, on: 1)),
      ])
  }

  @Test func aFailedOrTimedOutConnectionIsClosedNeverReused() {
    run(
      max: 1,
      Self.busyC0 + [
        (.get(1), []),
        (
          .failed(0, .closed),
          [
            .disarmDeadline(Self.c(0)), .complete(Self.r(0), .failure(.closed)), .close(Self.c(0)),
            .connect(Self.c(1)),
          ]
        ),
        (.connected(1), Self.sent(1, on: 1)),
        (.get(2), []),
        (
          .deadline(1),
          [
            .abort(Self.c(1)), .complete(Self.r(1), .failure(.timeout)), .close(Self.c(1)),
            .connect(Self.c(2)),
          ]
        ),
        (.connected(2), Self.sent(2, on: 2)),
        // A deadline or answer for a connection already gone changes nothing.
        (.deadline(1), []),
        (.ok(0), []),
      ])
  }

  @Test func cancellingAQueuedCallJustRemovesIt() {
    run(
      max: 1,
      Self.busyC0 + [
        (.get(1), []),
        (.get(2), []),
        (.cancel(1), []),
        (
          .ok(0),
          [.disarmDeadline(Self.c(0)), .complete(Self.r(0), .response)] + Self.sent(2, on: 0)
        ),
        (.cancel(1), []),
      ])
  }

  @Test func cancellingACallInFlightAbortsAndClosesItsConnection() {
    run(
      max: 1,
      Self.busyC0 + [
        (.get(1), []),
        // No completion for the cancelled call; the next one gets a new connection.
        (
          .cancel(0),
          [.disarmDeadline(Self.c(0)), .abort(Self.c(0)), .close(Self.c(0)), .connect(Self.c(1))]
        ),
        (.connected(1), Self.sent(1, on: 1)),
        (.ok(0), []),
      ])
  }

  @Test func shutdownFailsWhatIsQueuedAndFreesWhatIsInFlight() {
    run(
      max: 2,
      Self.busyC0 + [
        (.get(1), [.connect(Self.c(1))]),
        (.connected(1), Self.sent(1, on: 1)),
        (.ok(1), [.disarmDeadline(Self.c(1)), .complete(Self.r(1), .response)]),
        (.get(2), Self.sent(2, on: 1)),
        (.get(3), []),
        (
          .shutdown,
          [
            .disarmDeadline(Self.c(0)), .abort(Self.c(0)), .complete(Self.r(0), .failure(.closed)),
            .close(Self.c(0)),
            .disarmDeadline(Self.c(1)), .abort(Self.c(1)), .complete(Self.r(2), .failure(.closed)),
            .close(Self.c(1)),
            .complete(Self.r(3), .failure(.closed)),
          ]
        ),
        (.get(4), [.complete(Self.r(4), .failure(.closed))]),
        (.ok(0), []),
        (.shutdown, []),
      ])
  }
}
