internal import CLibevent
import Glibc

/// One `evhttp_connection` of the pool and its request deadline. It carries
/// one request at a time (libevent does not pipeline); the pool's state
/// machine decides what goes on it.
final class PooledConnection {
  let id: ConnectionPool.ConnectionID
  let evcon: OpaquePointer
  private(set) var deadline: LoopTimer!
  /// The call in flight on it, if any.
  var current: ClientCall?
  private let onPeerClose: (ConnectionPool.ConnectionID) -> Void
  private var isFreed = false

  init(
    id: ConnectionPool.ConnectionID, loop: EventLoop, dns: OpaquePointer?, host: String, port: Int,
    timeoutMs: Int64, maxBodyBytes: Int,
    onDeadline: @escaping (ConnectionPool.ConnectionID) -> Void,
    onPeerClose: @escaping (ConnectionPool.ConnectionID) -> Void
  ) {
    self.id = id
    self.onPeerClose = onPeerClose
    evcon = evhttp_connection_base_new(loop.base, dns, host, UInt16(clamping: port))
    var tv = timeval(tv_sec: Int(timeoutMs / 1000), tv_usec: Int((timeoutMs % 1000) * 1000))
    evhttp_connection_set_timeout_tv(evcon, &tv)
    evhttp_connection_set_retries(evcon, 0)
    evhttp_connection_set_max_body_size(evcon, maxBodyBytes)
    evhttp_connection_set_max_headers_size(evcon, 64 << 10)
    // Unretained: the closecb is cleared before the connection is freed,
    // and the connection is freed no later than this object.
    evhttp_connection_set_closecb(
      evcon,
      { _, arg in
        let connection = Unmanaged<PooledConnection>.fromOpaque(arg!).takeUnretainedValue()
        connection.onPeerClose(connection.id)
      }, Unmanaged.passUnretained(self).toOpaque())
    deadline = LoopTimer(loop: loop) { onDeadline(id) }
  }

  deinit { freeNow() }

  /// Frees the libevent connection now. A request still on it is freed by
  /// libevent without any callback: the client has aborted it first.
  func freeNow() {
    guard !isFreed else { return }
    isFreed = true
    deadline.cancel()
    evhttp_connection_set_closecb(evcon, nil, nil)
    evhttp_connection_free(evcon)
  }
}
