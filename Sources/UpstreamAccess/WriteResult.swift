import MiniJSON
import Resilience
import Telemetry

/// How a `POST /addEvent` to the upstream ended, classified once. What the
/// breaker counts follows from it (`breakerOutcome`), so no handler decides
/// that on its own.
package enum WriteResult {
  /// A 2xx that does not say otherwise: the event is stored.
  case stored
  /// A 2xx whose body says `"success": false`: a failure in disguise.
  case reportedFailure
  /// A 4xx: the upstream understood and refused.
  case rejected(UpstreamResponse)
  /// Never sent, for a reason of this process's own (`local_error`).
  case notSent
  case failed(UpstreamFailure)

  package init(_ result: UpstreamResult) {
    switch result {
    case .success(let response):
      self = Self.reportsFailure(response.body) ? .reportedFailure : .stored
    case .refused(let response): self = .rejected(response)
    case .failure(let failure) where failure.isLocal: self = .notSent
    case .failure(let failure): self = .failed(failure)
    }
  }

  /// Failures open the breaker; an answer, and a request that never left,
  /// say nothing about the upstream's health.
  package var breakerOutcome: BreakerOutcome {
    switch self {
    case .stored: .success
    case .reportedFailure, .failed: .failure
    case .rejected, .notSent: .neutral
    }
  }

  package static func reportsFailure(_ body: [UInt8]) -> Bool {
    guard let value = try? JSONValue.parse(body) else { return false }
    return value["success"] == .bool(false)
  }
}
