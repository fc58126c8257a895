import Libevent

/// An `HTTPTransport` in memory: requests wait in `pending` until the test
/// answers or fails them. A cancelled request leaves `pending` and is
/// counted; its completion never runs.
final class FakeTransport: HTTPTransport {
  final class Call: TransportCall {
    let request: ClientRequest
    fileprivate var completion: ((Result<ClientResponse, ClientFailure>) -> Void)?
    fileprivate weak var transport: FakeTransport?

    init(
      request: ClientRequest, completion: @escaping (Result<ClientResponse, ClientFailure>) -> Void
    ) {
      self.request = request
      self.completion = completion
    }

    func cancel() {
      guard completion != nil else { return }
      completion = nil
      transport?.cancelled += 1
      transport?.pending.removeAll { $0 === self }
    }
  }

  private(set) var pending: [Call] = []
  private(set) var sent: [ClientRequest] = []
  private(set) var cancelled = 0
  /// Set to fail every request before `start` returns.
  var failAtOnce: ClientFailure?

  func start(
    _ request: ClientRequest, completion: @escaping (Result<ClientResponse, ClientFailure>) -> Void
  ) -> any TransportCall {
    sent.append(request)
    let call = Call(request: request, completion: completion)
    call.transport = self
    if let failure = failAtOnce {
      call.completion = nil
      completion(.failure(failure))
      return call
    }
    pending.append(call)
    return call
  }

  /// Ends the oldest pending request (or the one for `path`).
  func complete(
    _ result: Result<ClientResponse, ClientFailure>, path: String? = nil
  ) {
    guard let index = pending.firstIndex(where: { path == nil || $0.request.path == path }) else {
      fatalError("no pending request for \(path ?? "any path")")
    }
    let call = pending.remove(at: index)
    let completion = call.completion
    call.completion = nil
    completion?(result)
  }

  func answer(_ status: Int, _ body: String, path: String? = nil) {
    complete(.success(ClientResponse(status: status, body: Array(body.utf8))), path: path)
  }

  func fail(_ failure: ClientFailure = .closed, path: String? = nil) {
    complete(.failure(failure), path: path)
  }
}
