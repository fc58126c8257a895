/// Sends HTTP requests and reports each one's end: `HTTPClient` over its
/// pooled connections, or an in-memory fake in tests.
public protocol HTTPTransport: AnyObject {
  /// Sends `request`; `completion` runs once, unless the call is cancelled
  /// first. It may run before `start` returns (a failure found at once).
  func start(
    _ request: ClientRequest, completion: @escaping (Result<ClientResponse, ClientFailure>) -> Void
  ) -> any TransportCall
}

/// A request in flight that can be called off: its completion never runs.
public protocol TransportCall: AnyObject {
  func cancel()
}

extension ClientCall: TransportCall {}

extension HTTPClient: HTTPTransport {
  public func start(
    _ request: ClientRequest, completion: @escaping (Result<ClientResponse, ClientFailure>) -> Void
  ) -> any TransportCall {
    send(request, completion: completion)
  }
}
