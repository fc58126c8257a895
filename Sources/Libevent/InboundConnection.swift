import CLibevent
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
  private var atLineStart = false
  /// The largest `Content-Length` in the current head, and the start of a
  /// line that may be one (kept across reads).
  private var announcedLength: Int?
  private var keepLine = false
  private var kept: [UInt8] = []
  /// A reply is being written (a close now ends its request), and its size.
  var replying = false
  var replyBytes = 0
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

  /// Watches for a hang-up while a request is served (`ServerRequest.onClientGone`).
  private var hangup: DisconnectWatch?

  func watchForHangup(_ onGone: @escaping () -> Void) {
    guard fd >= 0 else { return }
    if hangup == nil { hangup = DisconnectWatch(loop: server.loop, fd: fd) }
    hangup?.start(onGone)
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
      atLineStart = false
      keepLine = false
      announcedLength = nil
    }
    if phase == .head { scanHead(buffer, added: count, now: now) }
  }

  /// libevent has read a whole request: no deadline until the next one.
  func requestRead() {
    phase = .idle
    listen(true)
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

  private static let lf = UInt8(ascii: "\n")
  private static let cr = UInt8(ascii: "\r")
  private static let contentLength = Array("content-length:".utf8)
  /// Enough of a line for `Content-Length:` and 18 digits with spaces.
  private static let keptBytes = 48

  /// Looks through the bytes just added for the blank line that ends the
  /// head, noting `Content-Length` on the way.
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
    for piece in pieces where phase == .head {
      guard let base = piece.iov_base?.assumingMemoryBound(to: UInt8.self) else { continue }
      scan(UnsafeBufferPointer(start: base, count: piece.iov_len), now: now)
    }
  }

  /// Line by line (`memchr` finds each end): a line with nothing but CRs
  /// ends the head, as for libevent, which also takes a bare LF as a line end.
  private func scan(_ bytes: UnsafeBufferPointer<UInt8>, now: Int64) {
    guard let base = bytes.baseAddress else { return }
    // Locals: each access to a stored property is an exclusivity check.
    var atLineStart = self.atLineStart
    var keepLine = self.keepLine
    defer {
      self.atLineStart = atLineStart
      self.keepLine = keepLine
    }
    var index = 0
    while index < bytes.count {
      if atLineStart {
        let byte = bytes[index]
        if byte == Self.lf {
          headEnded(now: now)
          return
        }
        if byte == Self.cr {
          index += 1
          continue
        }
        atLineStart = false
        keepLine = byte | 0x20 == UInt8(ascii: "c")
        if keepLine { kept.removeAll(keepingCapacity: true) }
      }
      let end = memchr(base + index, Int32(Self.lf), bytes.count - index)
      let lineEnd = end.map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? bytes.count
      if keepLine && kept.count < Self.keptBytes {
        kept.append(contentsOf: bytes[index..<min(lineEnd, index + Self.keptBytes - kept.count)])
      }
      guard end != nil else { return }
      if keepLine {
        noteContentLength()
        keepLine = false
      }
      index = lineEnd + 1
      atLineStart = true
    }
  }

  /// The line kept whole, if it is `Content-Length`: its value.
  private func noteContentLength() {
    let name = Self.contentLength.count
    guard kept.count > name else { return }
    for (byte, wanted) in zip(kept, Self.contentLength) where byte | 0x20 != wanted { return }
    var value = 0
    var digits = 0
    for byte in kept[name...] where byte != Self.cr && byte != 32 && byte != 9 {
      // Not plain digits: `RequestFraming` refuses it once libevent has read it.
      guard byte >= 48 && byte <= 57, digits < 18 else { return }
      value = value * 10 + Int(byte - 48)
      digits += 1
    }
    if digits > 0 { announcedLength = max(announcedLength ?? 0, value) }
  }

  private func headEnded(now: Int64) {
    if let announcedLength, announcedLength > maxBodyBytes {
      // Refused before libevent reads the head: it never sees the request,
      // and not a byte of the body is buffered.
      refuse(status: 413, announcedLength)
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
    case .head, .body: refuse(status: 408, nil)
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
  private func refuse(status: Int, _ announced: Int?) {
    let input = bufferevent_get_input(bev)
    evbuffer_drain(input, evbuffer_get_length(input))
    if evbuffer_get_length(bufferevent_get_output(bev)) == 0 {
      let reply = server.limits.earlyReply(status, announced)
      _ = reply.withUnsafeBytes {
        send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
      }
    }
    shutdown(fd, Int32(SHUT_WR))
    phase = .discarding
    deadlineMs = server.loop.nowMs + Self.lingerMs
  }
}
