import CLibevent
import Glibc

/// One request through `HTTPClient`: queued, then in flight on one pooled
/// connection, then finished. Its completion runs at most once, and never
/// after `cancel()`.
public final class ClientCall {
  enum State {
    case queued
    case inFlight(PooledConnection, OpaquePointer)
    case finished
  }

  let request: ClientRequest
  var state: State = .queued
  /// Set by libevent's error callback; read by the response callback.
  var reportedError: evhttp_request_error?
  /// Set when our own deadline cancelled the request.
  var timedOut = false
  private var completion: ((Result<ClientResponse, ClientFailure>) -> Void)?
  weak var client: HTTPClient?

  init(
    request: ClientRequest, client: HTTPClient,
    completion: @escaping (Result<ClientResponse, ClientFailure>) -> Void
  ) {
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
    state = .finished
    let completion = self.completion
    self.completion = nil
    completion?(result)
  }
}
