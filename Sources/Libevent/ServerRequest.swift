import CLibevent
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

  init(raw: OpaquePointer, method: HTTPMethod, server: HTTPServer) {
    self.raw = raw
    self.server = server
    self.method = method
    let uri = evhttp_request_get_evhttp_uri(raw)
    path = uri.flatMap { evhttp_uri_get_path($0) }.map { String(cString: $0) } ?? "/"
    query = uri.flatMap { evhttp_uri_get_query($0) }.map { String(cString: $0) }
  }

  deinit {
    if !hasResponded {
      respond(
        status: 500, headers: [("Content-Type", "text/plain")], body: Array("no response\n".utf8))
    }
  }

  /// Answered, dropped, or its server closed under it.
  public var hasResponded: Bool { raw == nil || server.isClosed }

  /// The first value of a request header, matched case-insensitively.
  public func header(_ name: String) -> String? {
    guard let raw, !server.isClosed else { return nil }
    return evhttp_find_header(evhttp_request_get_input_headers(raw), name).map {
      String(cString: $0)
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

  /// Sends the one reply. HEAD replies carry the headers but never a body
  /// (libevent would write it anyway and corrupt the next keep-alive reply).
  public func respond(status: Int, headers: [(String, String)], body: [UInt8]) {
    guard let raw, !server.isClosed else { return }
    self.raw = nil
    let output = evhttp_request_get_output_headers(raw)
    for (name, value) in headers { evhttp_add_header(output, name, value) }
    server.send(raw, status: status, body: method == .head ? [] : body)
  }

  /// Closes the connection without any answer (the mock's dropped connections).
  /// Done on the next loop turn: freeing a connection inside its own callback
  /// is not something libevent promises to survive.
  public func drop() {
    guard let raw, !server.isClosed else { return }
    self.raw = nil
    server.drop(raw)
  }
}
