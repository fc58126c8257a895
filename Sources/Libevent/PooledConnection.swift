import CLibevent
import Glibc

/// One `evhttp_connection` of the pool. It carries one request at a time
/// (libevent does not pipeline), owns that request's deadline timer, and
/// knows whether its socket may still be open from an earlier request.
final class PooledConnection {
  let evcon: OpaquePointer
  private let loop: EventLoop
  /// A socket from an earlier keep-alive request may be open (and may have
  /// been closed by the server a moment ago). Cold connections connect anew.
  var isWarm = false
  /// The request on this connection, if any.
  var current: ClientCall?
  private var isFreed = false
  private(set) var deadline: LoopTimer!

  init(
    loop: EventLoop, dns: OpaquePointer?, host: String, port: Int, timeoutMs: Int64,
    onDeadline: @escaping (PooledConnection) -> Void
  ) {
    self.loop = loop
    evcon = evhttp_connection_base_new(loop.base, dns, host, UInt16(clamping: port))
    var tv = timeval(tv_sec: Int(timeoutMs / 1000), tv_usec: Int((timeoutMs % 1000) * 1000))
    evhttp_connection_set_timeout_tv(evcon, &tv)
    evhttp_connection_set_retries(evcon, 0)
    evhttp_connection_set_max_body_size(evcon, 64 << 20)
    evhttp_connection_set_max_headers_size(evcon, 64 << 10)
    evhttp_connection_set_closecb(
      evcon,
      { _, arg in
        Unmanaged<PooledConnection>.fromOpaque(arg!).takeUnretainedValue().isWarm = false
      }, Unmanaged.passUnretained(self).toOpaque())
    deadline = LoopTimer(loop: loop) { [weak self] in
      if let self { onDeadline(self) }
    }
  }

  deinit { freeNow() }

  /// Frees the libevent connection now. A request still on it is freed by
  /// libevent without any callback: the caller settles its context.
  func freeNow() {
    guard !isFreed else { return }
    isFreed = true
    deadline.cancel()
    evhttp_connection_set_closecb(evcon, nil, nil)
    evhttp_connection_free(evcon)
  }
}
