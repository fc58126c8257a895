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
}

extension ServerRequest: InboundRequest {}
