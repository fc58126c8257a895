/// A client request as a handler sees it: what was asked, and the one way
/// to answer it. `ServerRequest` is the real one (an evhttp request); tests
/// drive routes with an in-memory one and read the reply it recorded.
public protocol InboundRequest: AnyObject {
  var method: HTTPMethod { get }
  /// The path as sent (still percent-encoded), without the query.
  var path: String { get }
  var body: [UInt8] { get }
  /// True once answered (or once its connection is gone).
  var hasResponded: Bool { get }
  func header(_ name: StaticString) -> String?
  func withHeader<R>(_ name: StaticString, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R
  func addHeader(_ name: StaticString, _ value: StaticString)
  func addHeader(_ name: StaticString, _ value: String)
  func addHeader(_ name: StaticString, decimal value: Int)
  func setContentType(_ value: StaticString)
  func setRequestID(_ id: String)
  /// Sends the reply; every later call is ignored.
  func respond(status: Int, body: [UInt8])
  /// `observer` hears if the client hangs up before the reply.
  func onClientGone(notify observer: any ClientGoneObserver)
  /// Starts a reply whose body follows in pieces; `observer` hears when
  /// the client goes. False when the reply was sent whole instead (HEAD).
  func startStream(status: Int, notify observer: any ClientGoneObserver) -> Bool
  /// The next piece, unless more than `limit` bytes still wait to be written.
  func sendChunk(_ bytes: [UInt8], limit: Int) -> ChunkResult
  func endStream()
}

/// What became of a piece of a streamed reply.
public enum ChunkResult: Equatable, Sendable {
  case sent
  /// Not sent: more than the limit's bytes still wait to be written to this
  /// client (a slow reader costs its own buffer, no more).
  case backlogged
  /// The stream has ended.
  case closed
}

extension ServerRequest: InboundRequest {}
