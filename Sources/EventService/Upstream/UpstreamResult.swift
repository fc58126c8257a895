import Libevent
import MiniJSON

/// The upstream routes the service calls (and the `route` label of its metrics).
public enum UpstreamRoute: String, CaseIterable, Sendable {
  case getUsers, getEvents, getUserById, getEventById, addEvent

  /// What a 2xx body of this route must be. Anything else — not JSON,
  /// truncated, the wrong shape — is a failed attempt, never passed on.
  var expectedBody: ExpectedBody {
    switch self {
    case .getUsers, .getEvents: .array
    case .getUserById, .getEventById: .object
    case .addEvent: .objectOrEmpty
    }
  }
}

enum ExpectedBody {
  case array, object
  /// `/addEvent` may acknowledge with no body at all.
  case objectOrEmpty

  /// Nil if `body` is what is expected, else why not. A strict scan (the
  /// same rules as for client bodies), no tree is built.
  func problem(with body: [UInt8]) -> String? {
    if self == .objectOrEmpty && body.isEmpty { return nil }
    let expected: JSONKind = self == .array ? .array : .object
    do {
      let kind = try JSONValue.validate(body)
      return kind == expected ? nil : "a JSON \(kind) where a JSON \(expected) belongs"
    } catch {
      return "a body that is not JSON (\(error))"
    }
  }
}

/// An upstream attempt classified once, the same way everywhere: 2xx with
/// the expected JSON is a success, 4xx an answer, anything else a failure.
public enum UpstreamResult: Sendable {
  case success(ClientResponse)
  /// A 4xx: the upstream understood and refused; never retried, never a breaker failure.
  case answer(ClientResponse)
  case failure(UpstreamFailure)

  init(_ result: Result<ClientResponse, ClientFailure>, route: UpstreamRoute) {
    switch result {
    case .success(let response) where (200..<300).contains(response.status):
      if let problem = route.expectedBody.problem(with: response.body) {
        self = .failure(.malformedBody(status: response.status, problem: problem))
      } else {
        self = .success(response)
      }
    case .success(let response) where (400..<500).contains(response.status):
      self = .answer(response)
    case .success(let response): self = .failure(.status(response.status))
    case .failure(let failure): self = .failure(.transport(failure))
    }
  }

  var outcome: UpstreamOutcome {
    switch self {
    case .success: .success
    case .answer: .answer
    case .failure(.status): .errorStatus
    case .failure(.malformedBody): .malformedBody
    case .failure(.transport(.timeout)): .timeout
    case .failure(.transport(.connect)): .connectError
    case .failure(.transport): .connectionError
    }
  }
}

/// How an upstream attempt ended (the `outcome` label of its metric).
public enum UpstreamOutcome: String, Sendable {
  case success, answer, timeout
  case errorStatus = "error_status"
  case malformedBody = "malformed_body"
  case connectError = "connect_error"
  case connectionError = "connection_error"
}

public enum UpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
  case status(Int)
  /// A 2xx whose body is not the JSON the route returns.
  case malformedBody(status: Int, problem: String)
  case transport(ClientFailure)

  public var description: String {
    switch self {
    case .status(let code): "upstream answered \(code)"
    case .malformedBody(let status, let problem): "upstream answered \(status) with \(problem)"
    case .transport(.timeout): "upstream timed out"
    case .transport(.connect): "upstream refused the connection"
    case .transport(.closed): "upstream closed the connection"
    case .transport(.invalidResponse): "upstream sent an invalid response"
    }
  }
}
