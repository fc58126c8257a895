internal import CLibevent

/// One request through `HTTPClient`. Its completion runs at most once, and
/// never after `cancel()`.
public final class ClientCall {
  let id: ConnectionPool.CallID
  let request: ClientRequest
  /// The connection it is in flight on, once sent, and libevent's request
  /// there (which holds one retain of this call until released).
  var connection: ConnectionPool.ConnectionID?
  var raw: OpaquePointer?
  /// The answer, kept until the pool says to complete the call.
  var response: ClientResponse?
  /// Set by libevent's error callback; read by the response callback.
  var reportedError: evhttp_request_error?
  private var completion: ((Result<ClientResponse, ClientFailure>) -> Void)?
  weak var client: HTTPClient?

  init(
    id: ConnectionPool.CallID, request: ClientRequest, client: HTTPClient,
    completion: @escaping (Result<ClientResponse, ClientFailure>) -> Void
  ) {
    self.id = id
    self.request = request
    self.client = client
    self.completion = completion
  }

  /// Abandons the call: it leaves the queue or its connection is reset, and
  /// its completion never runs.
  public func cancel() {
    completion = nil
    client?.cancel(self)
  }

  func finish(_ result: Result<ClientResponse, ClientFailure>) {
    let completion = self.completion
    self.completion = nil
    completion?(result)
  }
}
