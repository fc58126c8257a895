internal import CLibevent
import Glibc

/// One connection of the pool: an `evhttp_connection` to one address of the
/// upstream host, over TCP or TLS, and the request deadline. It carries one
/// request at a time (libevent does not pipeline); the pool's state machine
/// decides what goes on it. It is never reconnected: once closed, by either
/// side, it is gone, and the pool opens a new one (for TLS, evhttp's
/// reconnection of the same bufferevent is a known trouble spot).
///
/// A new connection has no `evcon` until it is dialed: the host is
/// resolved first, then its addresses are dialed in order until one
/// connects (`HTTPClient` does this).
///
/// Like everything else libevent calls back (its close callback and its
/// output-buffer hook get this object, unretained), it is held by the
/// loop's registry from its creation until `freeNow`.
final class PooledConnection: LoopRegistration {
  let id: ConnectionPool.ConnectionID
  private let port: Int
  private let timeoutMs: Int64
  private let maxBodyBytes: Int
  private let tls: TLSClientContext?
  /// The name TLS verifies (and sends as SNI), whatever address is dialed.
  private let host: String
  private(set) var evcon: OpaquePointer?
  private var bev: OpaquePointer?
  private(set) var deadline: LoopTimer!
  /// Moves on to the next address when one does not connect in its share
  /// of the attempt's time.
  /// Made only for a name with more than one address.
  private var dialTimer: LoopTimer?
  private let onDialTimeout: (ConnectionPool.ConnectionID) -> Void
  /// The call in flight on it, if any.
  var current: ClientCall?
  /// The host's name being looked up, before the first dial.
  var lookup: NameResolver.Lookup?
  /// Where it may connect, and how many have been dialed.
  private(set) var addresses: [String] = []
  private(set) var dialed = 0
  private var firstDialMs: Int64 = 0
  /// A request's bytes were queued on it, which evhttp does only once it is
  /// connected (for TLS: once the handshake is done).
  private(set) var isConnected = false
  private var connectedHook: OpaquePointer?
  /// The first certificate verification error of the handshake.
  private let verifyError = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
  private let onPeerClose: (ConnectionPool.ConnectionID) -> Void
  private let onConnected: (PooledConnection) -> Void
  /// The loop is being closed with this connection open: its client ends
  /// every call and frees every connection, aborting requests first.
  private let onLoopClosed: () -> Void
  private var isFreed = false

  init(
    id: ConnectionPool.ConnectionID, loop: EventLoop, host: String, port: Int,
    tls: TLSClientContext?, timeoutMs: Int64, maxBodyBytes: Int,
    onDeadline: @escaping (ConnectionPool.ConnectionID) -> Void,
    onDialTimeout: @escaping (ConnectionPool.ConnectionID) -> Void,
    onPeerClose: @escaping (ConnectionPool.ConnectionID) -> Void,
    onConnected: @escaping (PooledConnection) -> Void,
    onLoopClosed: @escaping () -> Void
  ) {
    self.id = id
    self.host = host
    self.port = port
    self.tls = tls
    self.timeoutMs = timeoutMs
    self.maxBodyBytes = maxBodyBytes
    self.onPeerClose = onPeerClose
    self.onConnected = onConnected
    verifyError.pointee = 0
    self.onDialTimeout = onDialTimeout
    self.onLoopClosed = onLoopClosed
    super.init(loop: loop)
    deadline = LoopTimer(loop: loop) { onDeadline(id) }
    register()
  }

  /// `EventLoop.close()` with the connection still open.
  override func endRegistration() {
    onLoopClosed()
    freeNow()
  }

  deinit {
    freeNow()
    verifyError.deallocate()
  }

  var isFresh: Bool { evcon == nil && lookup == nil && addresses.isEmpty }
  var hasAddressLeft: Bool { dialed < addresses.count }

  func use(_ addresses: [String]) {
    self.addresses = addresses
    firstDialMs = loop.nowMs
  }

  /// Makes the connection to the next address, handing back the one before
  /// (to be freed once its callbacks have returned). An address that is
  /// not the last gets its share of the attempt's time left to connect.
  func dialNext() -> (ok: Bool, previous: OpaquePointer?) {
    let previous = evcon
    if let previous {
      evhttp_connection_set_closecb(previous, nil, nil)
      if let bev, let connectedHook {
        evbuffer_remove_cb_entry(bufferevent_get_output(bev), connectedHook)
      }
      connectedHook = nil
      evcon = nil
      bev = nil
    }
    guard dialed < addresses.count else { return (false, previous) }
    let address = addresses[dialed]
    dialed += 1
    verifyError.pointee = 0
    guard let made = make(to: address) else { return (false, previous) }
    evcon = made
    let left = addresses.count - dialed + 1
    if left > 1 {
      let remaining = max(1, timeoutMs - (loop.nowMs - firstDialMs))
      if dialTimer == nil {
        let (id, onDialTimeout) = (self.id, self.onDialTimeout)
        dialTimer = LoopTimer(loop: loop) { onDialTimeout(id) }
      }
      dialTimer?.arm(afterMs: max(1, remaining / Int64(left)))
    }
    return (true, previous)
  }

  private func make(to address: String) -> OpaquePointer? {
    let made: OpaquePointer?
    if let tls {
      guard let ssl = tls.makeSSL(host: host, verifyError: verifyError) else { return nil }
      guard
        let bev = bufferevent_openssl_socket_new(
          loop.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue))
      else {
        SSL_free(ssl)
        return nil
      }
      // Many servers close without a TLS close_notify; that is an end of
      // stream, not an error.
      bufferevent_openssl_set_allow_dirty_shutdown(bev, 1)
      made = evhttp_connection_base_bufferevent_new(
        loop.base, nil, bev, address, UInt16(clamping: port))
      if made == nil { bufferevent_free(bev) }
    } else {
      made = evhttp_connection_base_new(loop.base, nil, address, UInt16(clamping: port))
    }
    guard let evcon = made else { return nil }
    bev = evhttp_connection_get_bufferevent(evcon)
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
        connection.keepSessionResumable()
        connection.onPeerClose(connection.id)
      }, Unmanaged.passUnretained(self).toOpaque())
    watchForConnect()
    return evcon
  }

  /// evhttp writes a request into the bufferevent once connected: the
  /// first bytes added to its output say the connect (and handshake)
  /// succeeded. The hook is removed after that.
  private func watchForConnect() {
    guard let bev else { return }
    connectedHook = evbuffer_add_cb(
      bufferevent_get_output(bev),
      { buffer, info, arg in
        guard let buffer, let info, info.pointee.n_added > 0, let arg else { return }
        Unmanaged<PooledConnection>.fromOpaque(arg).takeUnretainedValue().connected(buffer)
      }, Unmanaged.passUnretained(self).toOpaque())
  }

  private func connected(_ buffer: OpaquePointer) {
    // Removed, not just switched off: libevent would visit it on every
    // change to the buffer. It may remove itself (libevent reads the next
    // entry first).
    if let connectedHook { evbuffer_remove_cb_entry(buffer, connectedHook) }
    connectedHook = nil
    guard !isConnected else { return }
    isConnected = true
    dialTimer?.cancel()
    // The request goes out whole: under TLS its head and body are separate
    // records, and Nagle plus delayed ACKs would hold the second for 40 ms.
    if let bev {
      var on: Int32 = 1
      setsockopt(
        bufferevent_getfd(bev), Int32(IPPROTO_TCP), TCP_NODELAY, &on,
        socklen_t(MemoryLayout<Int32>.size))
    }
    onConnected(self)
  }

  /// For TLS, whether the handshake resumed an earlier session.
  var resumedSession: Bool? {
    guard tls != nil, let bev, let ssl = bufferevent_openssl_get_ssl(bev) else { return nil }
    return SSL_session_reused(ssl) == 1
  }

  /// Why a TLS connection that never connected failed, if TLS said so.
  func handshakeFailure() -> String? {
    guard tls != nil, !isConnected, let bev else { return nil }
    if verifyError.pointee != 0 {
      return "certificate verify failed: \(OpenSSLError.verifyText(verifyError.pointee))"
    }
    // libevent queues `SSL_get_error`'s code (a small number) ahead of
    // OpenSSL's own errors; an I/O error alone (refused, closed) is no TLS
    // reason, and the connect failure it is moves on to the next address.
    var reason: UInt?
    while case let code = bufferevent_get_openssl_error(bev), code != 0 {
      if code > 0xFF && reason == nil { reason = code }
    }
    return reason.map { "handshake failed: \(OpenSSLError.text($0))" }
  }

  /// OpenSSL forgets a session (marks it not resumable) when a connection
  /// that used it is reset or freed without a close_notify sent — which is
  /// how evhttp ends every connection, and the session is the one new
  /// connections offer. The connection is declared shut down cleanly first:
  /// since TLS 1.1 an unclean close no longer forbids resumption (RFC 4346
  /// §7.2.1), and the peer still sees the end of the stream. Runs in the
  /// close callback, which evhttp calls before it resets the connection.
  func keepSessionResumable() {
    guard tls != nil, isConnected, let bev, let ssl = bufferevent_openssl_get_ssl(bev) else {
      return
    }
    SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_SENT_SHUTDOWN)
  }

  /// Frees the libevent connection now. A request still on it is freed by
  /// libevent without any callback: the client has aborted it first.
  func freeNow() {
    guard !isFreed else { return }
    isFreed = true
    unregister()
    deadline.cancel()
    dialTimer?.cancel()
    lookup?.cancel()
    lookup = nil
    guard let evcon else { return }
    keepSessionResumable()
    evhttp_connection_set_closecb(evcon, nil, nil)
    evhttp_connection_free(evcon)
    self.evcon = nil
  }
}
