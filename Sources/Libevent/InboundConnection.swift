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
/// it, and the connection is shut down; libevent then frees it.
///
/// Lifetime: made in `evhttp_set_bevcb` with the bufferevent, before libevent
/// has made the connection around it. On its first bytes it learns the
/// connection and sets its close callback, after which the server forgets
/// it when libevent frees the connection. One that never sends a byte is
/// closed by libevent's idle timeout and forgotten by the server's sweep.
final class InboundConnection {
  /// `discarding`: refused; what the client still sends is thrown away
  /// until it closes or the linger ends.
  enum Phase { case idle, head, body, discarding }

  unowned let server: HTTPServer
  let bev: OpaquePointer
  let acceptedMs: Int64
  private(set) var fd: Int32 = -1
  /// Its place in the server's list of connections that have sent nothing yet.
  var freshSlot = -1
  private var phase = Phase.head
  private var deadlineMs: Int64
  private var atLineStart = false
  /// The largest `Content-Length` in the current head, and the start of a
  /// line that may be one (kept across reads).
  private var announcedLength: Int?
  private var keepLine = false
  private var kept: [UInt8] = []
  private var armedFor: Int64?
  /// A reply is being written: a close now ends its request.
  var replying = false
  private var deadline: LoopTimer?

  init(server: HTTPServer, bev: OpaquePointer, nowMs: Int64) {
    self.server = server
    self.bev = bev
    acceptedMs = nowMs
    deadlineMs = nowMs + server.limits.headerTimeoutMs
  }

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
      deadlineMs = now + server.limits.headerTimeoutMs
      atLineStart = false
      keepLine = false
      announcedLength = nil
    }
    if phase == .head { scanHead(buffer, added: count, now: now) }
    guard phase == .head || phase == .body, armedFor != deadlineMs else { return }
    arm(afterMs: deadlineMs - now)
    armedFor = deadlineMs
  }

  private func arm(afterMs ms: Int64) {
    if deadline == nil {
      deadline = LoopTimer(loop: server.loop) { [unowned self] in self.expired() }
    }
    deadline?.arm(afterMs: ms)
  }

  /// libevent has read a whole request: no deadline until the next one.
  func requestRead() {
    phase = .idle
    if armedFor != nil {
      deadline?.cancel()
      armedFor = nil
    }
  }

  /// libevent frees the connection.
  func closed() {
    deadline?.cancel()
    deadline = nil
  }

  private func adopt() {
    fd = bufferevent_getfd(bev)
    var read: bufferevent_data_cb?
    var write: bufferevent_data_cb?
    var event: bufferevent_event_cb?
    var connection: UnsafeMutableRawPointer?
    bufferevent_getcb(bev, &read, &write, &event, &connection)
    server.adopt(self, connection: OpaquePointer(connection))
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
    let pieces = Int(evbuffer_peek(buffer, added, &position, nil, 0))
    withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(1, pieces)) { vectors in
      let filled = Int(evbuffer_peek(buffer, added, &position, vectors.baseAddress, Int32(pieces)))
      for piece in vectors.prefix(min(filled, pieces)) where phase == .head {
        guard let base = piece.iov_base?.assumingMemoryBound(to: UInt8.self) else { continue }
        scan(UnsafeBufferPointer(start: base, count: piece.iov_len), now: now)
      }
    }
  }

  /// Line by line (`memchr` finds each end): a line with nothing but CRs
  /// ends the head, as for libevent, which also takes a bare LF as a line end.
  private func scan(_ bytes: UnsafeBufferPointer<UInt8>, now: Int64) {
    guard let base = bytes.baseAddress else { return }
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
        kept.removeAll(keepingCapacity: true)
      }
      let end = memchr(base + index, Int32(Self.lf), bytes.count - index)
      let lineEnd = end.map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? bytes.count
      if keepLine && kept.count < Self.keptBytes {
        kept.append(contentsOf: bytes[index..<min(lineEnd, index + Self.keptBytes - kept.count)])
      }
      guard end != nil else { return }
      if keepLine { noteContentLength() }
      index = lineEnd + 1
      atLineStart = true
    }
  }

  /// The line kept whole, if it is `Content-Length`: its value.
  private func noteContentLength() {
    keepLine = false
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
    if let announcedLength, announcedLength > server.limits.maxBodyBytes {
      // Refused before libevent reads the head: it never sees the request,
      // and not a byte of the body is buffered.
      refuse(status: 413, announcedLength)
      return
    }
    phase = .body
    deadlineMs = now + server.limits.bodyTimeoutMs
  }

  // MARK: - Deadlines

  private func expired() {
    switch phase {
    case .idle: break
    case .head, .body: refuse(status: 408, nil)
    case .discarding: shutdown(fd, Int32(SHUT_RD))
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
    arm(afterMs: Self.lingerMs)
    armedFor = nil
  }
}
