internal import CLibevent
import Glibc

/// One inbound request and the right to answer it exactly once.
///
/// It wraps the live `evhttp_request`, which libevent frees after the reply,
/// so after `respond` or `drop` the accessors return empty values and further
/// answers are ignored. A request dropped by the application without an
/// answer is answered 500 in `deinit`: every request gets exactly one reply.
public final class ServerRequest {
  private var raw: OpaquePointer?
  private let server: HTTPServer
  public let method: HTTPMethod
  /// The path as sent (still percent-encoded), without the query.
  public let path: String
  public let query: String?

  /// The reply must close the connection: the request declared a body that
  /// libevent left unread (see `HTTPServer.leavesBodyUnread`), its body was
  /// chunked, or another request arrived behind it unseen
  /// (`InboundConnection.closeAfterReply`).
  private let closesConnection: Bool
  private var goneObserver: (any ClientGoneObserver)?
  private var head = ReplyHead()
  /// The connection it arrived on (nil only if libevent had already lost it).
  private let connection: InboundConnection?

  init(raw: OpaquePointer, method: HTTPMethod, server: HTTPServer, connection: InboundConnection?) {
    self.raw = raw
    self.server = server
    self.connection = connection
    self.method = method
    closesConnection =
      connection?.closeAfterReply == true || HTTPServer.leavesBodyUnread(raw, method: method)
    let uri = evhttp_request_get_evhttp_uri(raw)
    path = uri.flatMap { evhttp_uri_get_path($0) }.map { String(cString: $0) } ?? "/"
    query = uri.flatMap { evhttp_uri_get_query($0) }.map { String(cString: $0) }
  }

  deinit {
    // A stream nobody holds any more ends with its last chunk.
    if stream == .open { endStream() }
    if !hasResponded {
      respond(
        status: 500, headers: [("Content-Type", "text/plain")], body: Array("no response\n".utf8))
    }
  }

  /// A reply in pieces: `open` from `startStream` until `endStream`;
  /// `leaving` once its client left, until libevent closes the connection
  /// (the request may then be ours to free: `streamLost`).
  private enum StreamState { case none, open, leaving }
  private var stream = StreamState.none

  /// True from `startStream` until the stream ends.
  public var isStreaming: Bool { stream == .open }

  /// Answered (or streaming), dropped, or its server closed under it.
  public var hasResponded: Bool { raw == nil || stream != .none || server.isClosed }

  /// The first value of a request header, matched case-insensitively.
  public func header(_ name: StaticString) -> String? {
    guard let raw, !server.isClosed else { return nil }
    return evhttp_find_header(evhttp_request_get_input_headers(raw), name.cString).map {
      String(cString: $0)
    }
  }

  /// Calls `body` with the first value of a request header as bytes (nil if
  /// absent), without making a `String` of it: a value over 15 bytes would
  /// cost a heap allocation and a UTF-8 check.
  public func withHeader<R>(_ name: StaticString, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
    guard let raw, !server.isClosed,
      let value = evhttp_find_header(evhttp_request_get_input_headers(raw), name.cString)
    else { return body(nil) }
    return value.withMemoryRebound(to: UInt8.self, capacity: 1) {
      body(UnsafeBufferPointer(start: $0, count: strlen(value)))
    }
  }

  /// The request body, copied out of libevent's buffer (left intact).
  public lazy var body: [UInt8] = {
    guard let raw, !server.isClosed, let buffer = evhttp_request_get_input_buffer(raw) else {
      return []
    }
    let length = evbuffer_get_length(buffer)
    guard length > 0 else { return [] }
    return [UInt8](unsafeUninitializedCapacity: length) { bytes, count in
      count = Int(evbuffer_copyout(buffer, bytes.baseAddress, length))
    }
  }()

  /// Adds a response header. The reply's headers are written by this type
  /// (`ReplyHead`), not handed to evhttp, which would format each with
  /// `printf` (docs/performance.md).
  public func addHeader(_ name: StaticString, _ value: StaticString) {
    guard raw != nil, !server.isClosed else { return }
    value.withUTF8Buffer { head.add(name, $0) }
  }

  /// `Content-Type`, which every reply of the service has.
  public func setContentType(_ value: StaticString) {
    guard raw != nil, !server.isClosed else { return }
    head.contentType = value
  }

  /// `X-Request-Id`, which every reply of the service has. Not written if
  /// it has CR, LF or NUL in it.
  public func setRequestID(_ id: String) {
    guard raw != nil, !server.isClosed else { return }
    head.requestID = id
  }

  /// A value with CR, LF or NUL in it is not added (it would end the header).
  public func addHeader(_ name: StaticString, _ value: String) {
    guard raw != nil, !server.isClosed else { return }
    var value = value
    value.withUTF8 { head.add(name, $0) }
  }

  public func addHeader(_ name: StaticString, decimal value: Int) {
    guard raw != nil, !server.isClosed else { return }
    withDecimalCString(value) {
      head.add(
        name,
        UnsafeBufferPointer(
          start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0)))
    }
  }

  /// Tells `observer` if the client hangs up before the request is
  /// answered; the request is then dropped (no reply can reach anyone).
  /// Worth its cost (a socket watch) only where work can be stopped. The
  /// observer is held until the request is answered or dropped.
  public func onClientGone(notify observer: any ClientGoneObserver) {
    guard raw != nil, !server.isClosed, let connection else { return }
    goneObserver = observer
    connection.watchForHangup(of: self)
  }

  func clientLeft() {
    let observer = goneObserver
    goneObserver = nil
    if stream == .open, let raw, let connection {
      // Its connection is closed (next turn); the close ends the reply and
      // settles who frees the request (`streamLost`).
      stream = .leaving
      server.closeStream(raw, on: connection)
    } else {
      drop()
    }
    observer?.clientGone()
  }

  // MARK: - A reply in pieces

  /// Starts a reply whose body follows in pieces (`sendChunk`), chunked
  /// under HTTP/1.1, for as long as the server runs: server-sent events.
  /// `observer` hears when the client goes, or its connection is closed
  /// (a write that failed or stalled past the idle timeout). False, with
  /// the request answered in full instead, for HEAD or a connection
  /// libevent no longer has.
  public func startStream(status: Int, notify observer: any ClientGoneObserver) -> Bool {
    guard let raw, !server.isClosed, stream == .none else { return false }
    guard method != .head, let connection, evhttp_request_get_connection(raw) != nil else {
      respond(status: status, body: [])
      return false
    }
    stream = .open
    goneObserver = observer
    server.startStream(raw, on: connection, of: self, head: head, status: status)
    connection.watchForHangup(of: self)
    return true
  }

  /// Sends `bytes` as the next piece of the streamed reply.
  public func sendChunk(_ bytes: [UInt8], limit: Int) -> ChunkResult {
    guard let raw, stream == .open, !server.isClosed, let connection else { return .closed }
    return server.sendChunk(raw, on: connection, bytes, limit: limit) ? .sent : .backlogged
  }

  /// Ends the streamed reply (the last chunk); the connection may carry
  /// another request after it.
  public func endStream() {
    guard let raw, stream == .open else { return }
    self.raw = nil
    stream = .none
    goneObserver = nil
    connection?.stopWatchingHangup()
    guard !server.isClosed else { return }
    evhttp_send_reply_end(raw)
  }

  /// libevent is freeing the connection under the stream. When the
  /// connection failed (a write error, the idle timeout) libevent first
  /// detached the unfinished request from it and leaves it to its owner
  /// (`evhttp_connection_incoming_fail`): it is freed here. One still
  /// attached is freed with the connection.
  func streamLost() {
    guard stream != .none, let raw else { return }
    let wasOpen = stream == .open
    self.raw = nil
    stream = .none
    if evhttp_request_get_connection(raw) == nil { evhttp_request_free(raw) }
    guard wasOpen else { return }
    let observer = goneObserver
    goneObserver = nil
    observer?.clientGone()
  }

  /// Sends the one reply with the headers added so far. HEAD replies carry
  /// the headers but never a body (libevent would write it anyway and
  /// corrupt the next keep-alive reply).
  public func respond(status: Int, body: [UInt8]) {
    guard let raw, !server.isClosed, stream == .none else { return }
    self.raw = nil
    if goneObserver != nil {
      goneObserver = nil
      connection?.stopWatchingHangup()
    }
    server.send(
      raw, on: connection, head: head, status: status, body: method == .head ? nil : body,
      closeConnection: closesConnection)
  }

  /// Adds `headers` and sends the reply.
  public func respond(status: Int, headers: [(String, String)], body: [UInt8]) {
    guard raw != nil, !server.isClosed else { return }
    for (name, value) in headers {
      var name = name
      var value = value
      name.withUTF8 { name in value.withUTF8 { head.add(name, $0) } }
    }
    respond(status: status, body: body)
  }

  /// Closes the connection without any answer (the mock's dropped connections).
  /// Done on the next loop turn: freeing a connection inside its own callback
  /// is not something libevent promises to survive.
  public func drop() {
    guard let raw, !server.isClosed, stream == .none else { return }
    self.raw = nil
    if goneObserver != nil {
      goneObserver = nil
      connection?.stopWatchingHangup()
    }
    server.drop(raw)
  }
}

extension StaticString {
  /// The literal as a C string: a literal's storage is NUL-terminated and
  /// lives as long as the binary.
  var cString: UnsafePointer<CChar> {
    UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self)
  }
}

/// `value` in decimal as a C string, without a heap allocation.
func withDecimalCString(_ value: Int, _ body: (UnsafePointer<CChar>) -> Void) {
  withUnsafeTemporaryAllocation(of: CChar.self, capacity: 24) { buffer in
    var start = buffer.count - 1
    buffer[start] = 0
    var rest = value.magnitude
    repeat {
      start -= 1
      buffer[start] = CChar(UInt8(ascii: "0") + UInt8(rest % 10))
      rest /= 10
    } while rest > 0
    if value < 0 {
      start -= 1
      buffer[start] = CChar(UInt8(ascii: "-"))
    }
    body(buffer.baseAddress! + start)
  }
}

/// Told when a request's client hangs up before it is answered.
public protocol ClientGoneObserver: AnyObject {
  func clientGone()
}
