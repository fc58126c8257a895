import Libevent
import Resilience
import Telemetry

/// The live view's side of the service (`/status/stream`): the viewers,
/// each sent the same snapshot once a second and once more on every breaker
/// transition, and the last transitions the view lists.
///
/// One timer serves every viewer, armed only while there are any; a
/// snapshot is built once per send, whatever the number of viewers. A
/// viewer that does not read has events skipped once `backlogLimit` bytes
/// wait for it (and libevent's idle timeout closes it if none leave); one
/// that goes costs nothing more.
final class StatusBoard {
  /// Viewers at once; more are answered 503.
  static let maxViewers = 64
  static let backlogLimit = 65_536
  static let keptTransitions = 10
  static let intervalMs: Int64 = 1_000

  struct Transition {
    let breaker: BreakerName
    let transition: BreakerTransition
  }

  /// Newest last.
  private(set) var transitions: [Transition] = []
  private(set) var viewers: [StatusViewer] = []
  private let clock: any Scheduler
  private var timer: (any ScheduledTimer)?
  /// Builds the snapshot (set once the context exists).
  var snapshot: () -> [UInt8] = { [] }

  init(clock: any Scheduler) { self.clock = clock }

  func recorded(_ transition: BreakerTransition, breaker: BreakerName) {
    transitions.append(Transition(breaker: breaker, transition: transition))
    if transitions.count > Self.keptTransitions { transitions.removeFirst() }
    // On the next loop turn: several transitions at once make one event,
    // and no reply is written from inside another request's handling.
    if !viewers.isEmpty { timer?.arm(afterMs: 0) }
  }

  /// Whether another viewer may follow (`maxViewers`).
  var hasRoom: Bool { viewers.count < Self.maxViewers }

  /// A new viewer (there is room), sent a snapshot at once.
  func add(_ viewer: StatusViewer) {
    viewers.append(viewer)
    if timer == nil { timer = clock.makeTimer { [unowned self] in tick() } }
    let first = Self.event(snapshot(), retryMs: 2_000)
    if !viewer.send(first) { remove(viewer) }
    if !viewers.isEmpty && timer?.isArmed != true { timer?.arm(afterMs: Self.intervalMs) }
  }

  func remove(_ viewer: StatusViewer) {
    viewers.removeAll { $0 === viewer }
    if viewers.isEmpty { timer?.cancel() }
  }

  /// Ends every stream (the service is stopping) and the timer.
  func endAll() {
    let ending = viewers
    viewers.removeAll()
    timer?.cancel()
    for viewer in ending { viewer.end() }
  }

  private func tick() {
    guard !viewers.isEmpty else { return }
    let event = Self.event(snapshot())
    for viewer in viewers where !viewer.send(event) { remove(viewer) }
    if !viewers.isEmpty { timer?.arm(afterMs: Self.intervalMs) }
  }

  /// One server-sent event: `event: status`, the JSON on one `data:` line.
  static func event(_ json: [UInt8], retryMs: Int64? = nil) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(json.count + 40)
    if let retryMs { out += Array("retry: \(retryMs)\n".utf8) }
    out += Array("event: status\ndata: ".utf8)
    out += json
    out += [10, 10]
    return out
  }
}

/// One client following `/status/stream`: its exchange, and what it was sent.
final class StatusViewer: ClientGoneObserver {
  let exchange: Exchange
  private unowned let board: StatusBoard
  private(set) var sent = 0
  private(set) var skipped = 0

  init(exchange: Exchange, board: StatusBoard) {
    self.exchange = exchange
    self.board = board
  }

  /// False once the stream has ended.
  func send(_ event: [UInt8]) -> Bool {
    switch exchange.request.sendChunk(event, limit: StatusBoard.backlogLimit) {
    case .sent: sent += 1
    case .backlogged: skipped += 1
    case .closed: return false
    }
    return true
  }

  func end() {
    exchange.request.endStream()
    exchange.streamEnded()
  }

  func clientGone() {
    board.remove(self)
    exchange.streamEnded()
  }
}
