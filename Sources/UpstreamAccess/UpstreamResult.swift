import Libevent
import MiniJSON
import Telemetry

extension UpstreamRoute {
  /// What a 2xx body of this route must be. Anything else — not JSON,
  /// truncated, the wrong shape — is a failed attempt, never passed on.
  package var expectedBody: ExpectedBody {
    switch self {
    case .getUsers, .getEvents: .array
    case .getEventById: .object
    case .getUserById: .parsedObject
    case .addEvent: .objectOrEmpty
    }
  }
}

package enum ExpectedBody {
  case array, object
  /// An object the caller reads (a user's event list): parsed once here,
  /// which checks it by the same rules, instead of checked and then parsed.
  case parsedObject
  /// `/addEvent` may acknowledge with no body at all.
  case objectOrEmpty

  /// The body checked strictly (the same rules as for client bodies): its
  /// tree for `parsedObject`, else nil (no tree is built), or why it is not
  /// what is expected.
  package func check(_ body: [UInt8]) -> Result<JSONValue?, BodyProblem> {
    if self == .objectOrEmpty && body.isEmpty { return .success(nil) }
    let expected: JSONKind = self == .array ? .array : .object
    do {
      let tree = self == .parsedObject ? try JSONValue.parse(body) : nil
      let kind = try tree.map(JSONKind.init) ?? JSONValue.validate(body)
      guard kind == expected else {
        return .failure(BodyProblem("a JSON \(kind) where a JSON \(expected) belongs"))
      }
      return .success(tree)
    } catch {
      return .failure(BodyProblem("a body that is not JSON (\(error))"))
    }
  }

  package struct BodyProblem: Error {
    let text: String
    init(_ text: String) { self.text = text }
  }
}

/// A 2xx or 4xx answer: status, body, and the body's tree where the
/// route's caller reads it (`ExpectedBody.parsedObject`).
public struct UpstreamResponse: Sendable {
  public let status: Int
  public let body: [UInt8]
  public let json: JSONValue?
  /// How the kept answers had a part in it; nil when none are kept.
  public var cacheUse: CacheUse? = nil

  package init(status: Int, body: [UInt8], json: JSONValue?, cacheUse: CacheUse? = nil) {
    self.status = status
    self.body = body
    self.json = json
    self.cacheUse = cacheUse
  }
}

/// An upstream attempt classified once, the same way everywhere: 2xx with
/// the expected JSON is a success, a 4xx a refusal, anything else a failure.
public enum UpstreamResult: Sendable {
  case success(UpstreamResponse)
  /// A 4xx: the upstream understood and refused; never retried, never a breaker failure.
  case refused(UpstreamResponse)
  case failure(UpstreamFailure)

  package init(_ result: Result<ClientResponse, ClientFailure>, route: UpstreamRoute) {
    switch result {
    case .success(let response) where (200..<300).contains(response.status):
      switch route.expectedBody.check(response.body) {
      case .success(let tree):
        self = .success(UpstreamResponse(status: response.status, body: response.body, json: tree))
      case .failure(let problem):
        self = .failure(.malformedBody(status: response.status, problem: problem.text))
      }
    case .success(let response) where (400..<500).contains(response.status):
      self = .refused(UpstreamResponse(status: response.status, body: response.body, json: nil))
    case .success(let response): self = .failure(.status(response.status))
    case .failure(let failure): self = .failure(.transport(failure))
    }
  }

  package var outcome: UpstreamOutcome {
    switch self {
    case .success: .success
    case .refused: .answer
    case .failure(.status): .errorStatus
    case .failure(.malformedBody): .malformedBody
    case .failure(.transport(.timeout)): .timeout
    case .failure(.transport(.connect)): .connectError
    case .failure(.transport(.dns)): .dnsError
    case .failure(.transport(.tls)): .tlsError
    case .failure(.transport(.tooLarge)): .tooLarge
    case .failure(.transport(.local)): .localError
    case .failure(.transport): .connectionError
    case .failure(.deadline): .timeout
    case .failure(.breakerOpen): .breakerOpen
    }
  }
}

public enum UpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
  case status(Int)
  /// A 2xx whose body is not the JSON the route returns.
  case malformedBody(status: Int, problem: String)
  case transport(ClientFailure)
  /// The request's deadline (`REQUEST_TIMEOUT_MS`) left no time for
  /// another attempt.
  case deadline
  /// The read breaker is OPEN and no kept answer could stand in.
  case breakerOpen(retryAfterMs: Int64)

  /// Whether another attempt could end otherwise: an answer over the body
  /// limit would be as big again, and local trouble is not the upstream's.
  package var isRetryable: Bool {
    switch self {
    case .transport(.tooLarge), .transport(.local), .deadline, .breakerOpen: false
    default: true
    }
  }

  /// The request log's name for it.
  package var cause: FailureCause {
    switch self {
    case .status: .status5xx
    case .malformedBody, .transport(.invalidResponse): .malformedBody
    case .transport(.timeout): .timeout
    case .transport(.connect): .refused
    case .transport(.dns): .dnsError
    case .transport(.tls): .tlsError
    case .transport(.closed): .connectionClosed
    case .transport(.tooLarge): .tooLarge
    case .transport(.local): .localError
    case .deadline: .deadline
    case .breakerOpen: .breakerOpen
    }
  }

  /// Not the upstream's doing: neither breaker counts it.
  package var isLocal: Bool { self == .transport(.local) }

  public var description: String {
    switch self {
    case .status(let code): "upstream answered \(code)"
    case .malformedBody(let status, let problem): "upstream answered \(status) with \(problem)"
    case .transport(.timeout): "upstream timed out"
    case .transport(.connect): "no upstream connection could be made (refused or timed out)"
    case .transport(.dns(let reason)): "upstream name did not resolve: \(reason)"
    case .transport(.tls(let reason)): "upstream TLS failed: \(reason)"
    case .transport(.closed): "upstream closed the connection"
    case .transport(.invalidResponse): "upstream sent an invalid response"
    case .transport(.tooLarge): "upstream answer over MAX_UPSTREAM_BODY_BYTES"
    case .transport(.local): "no upstream connection could be opened (local_error)"
    case .deadline: "no upstream answer within REQUEST_TIMEOUT_MS"
    case .breakerOpen: "the read breaker is open"
    }
  }
}
