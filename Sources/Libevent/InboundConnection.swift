internal import CLibevent
import Glibc

/// Deadlines for one client connection, which libevent 2.1 does not have:
/// its timeouts are idle timeouts, restarted by every byte, so a client that
/// trickles a header line every few seconds is kept forever.
///
/// - A request's headers must arrive within `headerTimeoutMs` of its first
///   byte (a new connection's first request: of the accept, which libevent's
///   own idle timeout, set to the same value, covers until the first byte).
/// - Its body within `bodyTimeoutMs` of the end of its headers.
/// - Between keep-alive requests, and while a reply is written, libevent's
///   idle timeout applies (`idleTimeoutMs`).
///
/// The connection is seen through a callback on its input buffer, which runs
/// for every read before libevent parses it: the first byte starts the
/// header deadline, a blank line ends the headers. A `Content-Length` over
/// the body limit is refused there, before a byte of the body is buffered.
/// At a deadline the client gets a 408 if nothing else is being written to
/// it, and the connection is shut down; libevent then frees it. Deadlines
/// are checked by `InboundConnections`' tick.
///
/// Lifetime: made in `evhttp_set_bevcb` with the bufferevent, before libevent
/// has made the connection around it, and owned by `InboundConnections`. On
/// its first bytes it learns the connection and sets its close callback,
/// which ends it when libevent frees the connection. One that never sends a
/// byte is closed by libevent's idle timeout and forgotten by a sweep.
final class InboundConnection {
  /// `discarding`: refused; what the client still sends is thrown away
  /// until it closes or the linger ends.
  enum Phase { case idle, head, body, discarding }

  /// The server outlives its connections (libevent frees them first).
  unowned(unsafe) let server: HTTPServer
  let bev: OpaquePointer
  let acceptedMs: Int64
  private let headerTimeoutMs: Int64
  private let bodyTimeoutMs: Int64
  private let maxBodyBytes: Int
  private(set) var fd: Int32 = -1
  /// Its places in the lists of `InboundConnections`.
  var freshSlot = -1
  var openSlot = -1
  private var phase = Phase.head
  private(set) var deadlineMs: Int64
  private var head = RequestHeadScanner()
  /// The request being read was chunked, or another arrived behind it
  /// before it was read: its reply closes the connection.
  private(set) var closeAfterReply = false
  /// A reply is being written (a close now ends its request), and its size.
  var replying = false
  var replyBytes = 0
  /// The request whose reply is being streamed on it, held until the reply
  /// ends or the connection closes, and told if the connection closes first.
  var stream: ServerRequest?
  /// The callback on the input buffer: off from the end of a request's head
  /// until libevent has read the request, so that libevent's draining of
  /// what it parses does not call it for nothing.
  var inputCallback: OpaquePointer?

  private func listen(_ on: Bool) {
    guard let inputCallback else { return }
    let input = bufferevent_get_input(bev)
    let flags = UInt32(EVBUFFER_CB_ENABLED)
    _ =
      on
      ? evbuffer_cb_set_flags(input, inputCallback, flags)
      : evbuffer_cb_clear_flags(input, inputCallback, flags)
  }

  /// A reply's head and body are separate chains of the output buffer, and
  /// bufferevent_openssl writes each chain as a TLS record of its own. A
  /// reply that fits one record is joined into one chain before the write
  /// event comes, so it leaves in one record (as nginx or Go send a small
  /// answer): one decryption for the client, not two.
  func joinReplyForTLS() {
    let output = bufferevent_get_output(bev)
    let length = evbuffer_get_length(output)
    if length > 0 && length <= 16_384 { evbuffer_pullup(output, -1) }
  }

  /// Watches for a hang-up while a request is served (`ServerRequest.onClientGone`).
  private var hangup: DisconnectWatch?

  func watchForHangup(of request: ServerRequest) {
    // Under TLS a peek sees records, not the client's bytes.
    guard fd >= 0, server.tls == nil else { return }
    if hangup == nil { hangup = DisconnectWatch(loop: server.loop, fd: fd) }
    hangup?.start(for: request)
  }

  func stopWatchingHangup() { hangup?.stop() }

  init(server: HTTPServer, bev: OpaquePointer, nowMs: Int64) {
    self.server = server
    self.bev = bev
    acceptedMs = nowMs
    headerTimeoutMs = server.limits.headerTimeoutMs
    bodyTimeoutMs = server.limits.bodyTimeoutMs
    maxBodyBytes = server.limits.maxBodyBytes
    deadlineMs = nowMs + headerTimeoutMs
  }

  /// A deadline is running (a request is being read, or a refused client
  /// is being let go).
  var isWaiting: Bool { phase != .idle }

  /// libevent added `count` bytes to the input buffer.
  func received(_ count: Int, in buffer: OpaquePointer) {
    if fd < 0 { adopt() }
    if phase == .discarding {
      evbuffer_drain(buffer, evbuffer_get_length(buffer))
      return
    }
    let now = server.loop.nowMs
    if phase == .idle {
      phase = .head
      deadlineMs = now + headerTimeoutMs
      head.reset()
    }
    if phase == .head { scanHead(buffer, added: count, now: now) }
  }

  /// libevent has read a whole request: no deadline until the next one.
  func requestRead() {
    phase = .idle
    listen(true)
    closeAfterReply = head.framing.chunked
    // Bytes of another request already here arrived unseen (pipelined):
    // answer this one and close rather than let libevent frame them.
    if evbuffer_get_length(bufferevent_get_input(bev)) > 0 { closeAfterReply = true }
  }

  private func adopt() {
    fd = bufferevent_getfd(bev)
    var read: bufferevent_data_cb?
    var write: bufferevent_data_cb?
    var event: bufferevent_event_cb?
    var connection: UnsafeMutableRawPointer?
    bufferevent_getcb(bev, &read, &write, &event, &connection)
    server.connections.adopt(self, connection: OpaquePointer(connection))
  }

  // MARK: - The head, read as it arrives

  /// Looks through the bytes just added for the end of the head.
  private func scanHead(_ buffer: OpaquePointer, added: Int, now: Int64) {
    var position = evbuffer_ptr()
    evbuffer_ptr_set(buffer, &position, evbuffer_get_length(buffer) - added, EVBUFFER_PTR_SET)
    // A read rarely spans more than a few of the buffer's chains.
    withUnsafeTemporaryAllocation(of: iovec.self, capacity: 4) { vectors in
      let needed = Int(evbuffer_peek(buffer, added, &position, vectors.baseAddress, 4))
      guard needed <= 4 else {
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: needed) { more in
          _ = evbuffer_peek(buffer, added, &position, more.baseAddress, Int32(needed))
          scan(more, now: now)
        }
        return
      }
      scan(UnsafeMutableBufferPointer(rebasing: vectors[..<needed]), now: now)
    }
  }

  private func scan(_ pieces: UnsafeMutableBufferPointer<iovec>, now: Int64) {
    for piece in pieces {
      guard let base = piece.iov_base?.assumingMemoryBound(to: UInt8.self) else { continue }
      if head.feed(UnsafeBufferPointer(start: base, count: piece.iov_len)) {
        headEnded(now: now)
        return
      }
    }
  }

  /// Refused here, before libevent reads the head, a request never reaches
  /// it: not a byte of an oversized body is buffered, and a smuggled
  /// request is never framed.
  private func headEnded(now: Int64) {
    if let problem = head.framing.problem {
      refuse(.badFraming(problem))
      return
    }
    if let length = head.framing.contentLength, length > maxBodyBytes {
      refuse(.tooLarge(announced: length))
      return
    }
    phase = .body
    deadlineMs = now + bodyTimeoutMs
    listen(false)
  }

  // MARK: - Deadlines

  /// The deadline passed (found by the registry's tick).
  func expired() {
    switch phase {
    case .idle: break
    case .head, .body: refuse(.timeout)
    case .discarding:
      phase = .idle
      shutdown(fd, Int32(SHUT_RD))
    }
  }

  /// How long a refused client may go on sending (thrown away) before its
  /// connection is shut down: closing at once with its bytes unread would
  /// reset the connection, and a reset can destroy the answer in flight.
  static let lingerMs: Int64 = 1_000

  /// Writes `status` straight to the socket when nothing else is queued for
  /// it (libevent never sees the request), ends the stream after it, and
  /// throws away whatever the client still sends until it closes or the
  /// linger ends; then libevent reads end of stream and frees the
  /// connection without an answer of its own.
  private func refuse(_ refusal: EarlyRefusal) {
    let input = bufferevent_get_input(bev)
    evbuffer_drain(input, evbuffer_get_length(input))
    // With an earlier reply still queued (a pipelining client), writing or
    // ending the stream now would cut that reply short: the refused request
    // gets no answer, and the linger's end closes the connection.
    if evbuffer_get_length(bufferevent_get_output(bev)) == 0 {
      let reply = server.limits.earlyReply(refusal)
      if server.tls != nil {
        // Encrypted by the bufferevent; the linger's end closes the connection.
        _ = reply.withUnsafeBytes { bufferevent_write(bev, $0.baseAddress, $0.count) }
      } else {
        _ = reply.withUnsafeBytes {
          send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        }
        shutdown(fd, Int32(SHUT_WR))
      }
    }
    phase = .discarding
    deadlineMs = server.loop.nowMs + Self.lingerMs
  }
}
