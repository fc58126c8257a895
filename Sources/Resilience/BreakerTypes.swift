public enum BreakerState: String, Sendable {
  case closed = "CLOSED"
  case open = "OPEN"
  case halfOpen = "HALF_OPEN"
}

/// Leave to make one upstream call; hand it back with the outcome.
public struct BreakerPermit: Sendable, Equatable {
  public let generation: UInt64
  public let isProbe: Bool
}

public enum BreakerDecision: Sendable, Equatable {
  case allow(BreakerPermit)
  case reject(retryAfterMs: Int64)
}

/// How an admitted call ended, as the breaker sees it.
public enum BreakerOutcome: Sendable {
  case success
  case failure
  /// An answer that is neither (an upstream 4xx): it only frees the probe slot.
  case neutral
}

public struct BreakerTransition: Sendable, Equatable {
  public enum Reason: String, Sendable {
    case failureThreshold = "failure threshold reached"
    case backoffElapsed = "backoff elapsed"
    case probeSucceeded = "probe succeeded"
    case probeFailed = "probe failed"
  }

  public let from: BreakerState
  public let to: BreakerState
  public let reason: Reason
  public let failuresInWindow: Int
  public let atMs: Int64
  /// When OPEN ends, if the breaker just entered OPEN.
  public let openUntilMs: Int64?
}
