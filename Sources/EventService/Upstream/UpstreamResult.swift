import Libevent

/// The upstream routes the service calls (and the `route` label of its metrics).
public enum UpstreamRoute: String, Sendable {
  case getUsers, getEvents, getUserById, getEventById, addEvent
}

/// An upstream attempt classified once, the same way everywhere (SPEC §3):
/// 2xx is a success, 4xx an answer, anything else a failure.
public enum UpstreamResult: Sendable {
  case success(ClientResponse)
  /// A 4xx: the upstream understood and refused; never retried, never a breaker failure.
  case answer(ClientResponse)
  case failure(UpstreamFailure)

  init(_ result: Result<ClientResponse, ClientFailure>) {
    switch result {
    case .success(let response) where (200..<300).contains(response.status):
      self = .success(response)
    case .success(let response) where (400..<500).contains(response.status):
      self = .answer(response)
    case .success(let response): self = .failure(.status(response.status))
    case .failure(let failure): self = .failure(.transport(failure))
    }
  }

  var metricOutcome: String {
    switch self {
    case .success: "success"
    case .answer: "answer"
    case .failure(.status): "error_status"
    case .failure(.transport(.timeout)): "timeout"
    case .failure(.transport(.connect)): "connect_error"
    case .failure(.transport): "connection_error"
    }
  }
}

public enum UpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
  case status(Int)
  case transport(ClientFailure)

  public var description: String {
    switch self {
    case .status(let code): "upstream answered \(code)"
    case .transport(.timeout): "upstream timed out"
    case .transport(.connect): "upstream refused the connection"
    case .transport(.closed): "upstream closed the connection"
    case .transport(.invalidResponse): "upstream sent an invalid response"
    }
  }
}
