internal import CLibevent
import Glibc

/// Every inbound connection of one server (each an `InboundConnection`):
/// those that have not sent a byte yet, those open (by descriptor), and the
/// tick that checks their deadlines.
///
/// Deadlines are checked every `tickMs` over the open connections, not by a
/// timer per request: arming and cancelling one per request cost more than
/// all the rest of the deadline work together. The tick runs while any
/// connection is open.
final class InboundConnections {
  /// The server owns this registry and outlives every connection in it.
  unowned(unsafe) let server: HTTPServer
  private var byFD: [InboundConnection?] = []
  private var open: [InboundConnection] = []
  private var fresh: [InboundConnection] = []
  private var tick: LoopTimer?
  private var sweep: LoopTimer?
  /// A deadline is met within this.
  static let tickMs: Int64 = 250

  init(server: HTTPServer) { self.server = server }

  /// The bufferevent of a connection libevent has just accepted, watched
  /// from its first byte on.
  func make(base: OpaquePointer?) -> OpaquePointer? {
    let made =
      server.tls.map { $0.makeBufferevent(base: base) }
      ?? bufferevent_socket_new(base, -1, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue))
    guard let bev = made else { return nil }
    let connection = InboundConnection(server: server, bev: bev, nowMs: server.loop.nowMs)
    // Unretained: this registry owns it until libevent frees the connection.
    connection.inputCallback = evbuffer_add_cb(
      bufferevent_get_input(bev),
      { buffer, info, arg in
        // Every drain calls back too: only reads matter.
        guard let buffer, let info, info.pointee.n_added > 0, let arg else { return }
        Unmanaged<InboundConnection>.fromOpaque(arg).takeUnretainedValue().received(
          info.pointee.n_added, in: buffer)
      }, Unmanaged.passUnretained(connection).toOpaque())
    connection.freshSlot = Self.insert(connection, into: &fresh)
    if fresh.count == 1 { armSweep() }
    return bev
  }

  /// The connection has sent its first bytes: from now on libevent tells
  /// us when it frees it, and it keeps the idle timeout, not the header one.
  func adopt(_ connection: InboundConnection, connection evcon: OpaquePointer?) {
    forgetFresh(connection)
    let fd = Int(connection.fd)
    guard let evcon, fd >= 0 else { return }
    if fd >= byFD.count { byFD += Array(repeating: nil, count: fd + 64 - byFD.count) }
    byFD[fd] = connection
    connection.openSlot = Self.insert(connection, into: &open)
    if open.count == 1 { armTick() }
    var idle = timeval(milliseconds: server.limits.idleTimeoutMs)
    bufferevent_set_timeouts(connection.bev, &idle, &idle)
    evhttp_connection_set_closecb(
      evcon,
      { _, arg in
        let connection = Unmanaged<InboundConnection>.fromOpaque(arg!).takeUnretainedValue()
        connection.server.connections.closed(connection)
      }, Unmanaged.passUnretained(connection).toOpaque())
  }

  /// libevent is freeing the connection.
  private func closed(_ connection: InboundConnection) {
    connection.stopWatchingHangup()
    server.connectionClosed(connection)
    let fd = Int(connection.fd)
    if fd < byFD.count && byFD[fd] === connection { byFD[fd] = nil }
    Self.remove(connection, slot: &connection.openSlot, from: &open) { $0.openSlot = $1 }
    if open.isEmpty { tick?.cancel() }
  }

  /// The connection a request arrived on.
  func of(_ raw: OpaquePointer) -> InboundConnection? {
    guard let evcon = evhttp_request_get_connection(raw),
      let bev = evhttp_connection_get_bufferevent(evcon)
    else { return nil }
    let fd = Int(bufferevent_getfd(bev))
    return fd >= 0 && fd < byFD.count ? byFD[fd] : nil
  }

  /// The server closed: libevent has freed every connection.
  func removeAll() {
    tick?.cancel()
    sweep?.cancel()
    byFD.removeAll()
    open.removeAll()
    fresh.removeAll()
  }

  // MARK: - Deadlines

  private func armTick() {
    if tick == nil {
      tick = LoopTimer(loop: server.loop) { [unowned self] in self.checkDeadlines() }
    }
    tick?.arm(afterMs: Self.tickMs)
  }

  private func checkDeadlines() {
    let now = server.loop.nowMs
    for connection in open where connection.isWaiting && connection.deadlineMs <= now {
      connection.expired()
    }
    if !open.isEmpty { armTick() }
  }

  // MARK: - Connections that never sent a byte

  private func forgetFresh(_ connection: InboundConnection) {
    Self.remove(connection, slot: &connection.freshSlot, from: &fresh) { $0.freshSlot = $1 }
    if fresh.isEmpty { sweep?.cancel() }
  }

  /// They are closed by libevent's idle timeout (the header timeout)
  /// without telling anyone; twice that and a second later they are gone.
  private func armSweep() {
    if sweep == nil { sweep = LoopTimer(loop: server.loop) { [unowned self] in self.sweepFresh() } }
    sweep?.arm(afterMs: server.limits.headerTimeoutMs + 1_000)
  }

  private func sweepFresh() {
    let cutoff = server.loop.nowMs - 2 * server.limits.headerTimeoutMs - 1_000
    for connection in fresh where connection.acceptedMs < cutoff { forgetFresh(connection) }
    if !fresh.isEmpty { armSweep() }
  }

  // MARK: - Lists with O(1) removal (each member knows its slot)

  private static func insert(_ connection: InboundConnection, into list: inout [InboundConnection])
    -> Int
  {
    list.append(connection)
    return list.count - 1
  }

  private static func remove(
    _ connection: InboundConnection, slot: inout Int, from list: inout [InboundConnection],
    moved: (InboundConnection, Int) -> Void
  ) {
    let index = slot
    guard index >= 0 else { return }
    slot = -1
    let last = list.removeLast()
    if last !== connection {
      list[index] = last
      moved(last, index)
    }
  }
}
