/// The whole contract of the breaker in one value. Times are milliseconds.
public struct BreakerSettings: Sendable, Equatable {
  /// Failures inside the window that open the breaker.
  public var failureThreshold: Int = 3
  /// Sliding window for counting failures: a failure at `t` counts while `now - t < failureWindowMs`.
  public var failureWindowMs: Int64 = 30_000
  /// How long the first OPEN period lasts.
  public var backoffMs: Int64 = 5_000
  /// Each failed probe multiplies the next OPEN period by this.
  public var backoffMultiplier: Double = 1
  /// Cap on the OPEN period.
  public var backoffMaxMs: Int64 = 60_000
  /// The longest a probe can take (the upstream deadline); while one is out,
  /// callers are told to retry after what is left of it.
  public var probeTimeoutMs: Int64 = 2_000

  public init() {}

  public init(
    failureThreshold: Int, failureWindowMs: Int64, backoffMs: Int64,
    backoffMultiplier: Double = 1, backoffMaxMs: Int64 = 60_000, probeTimeoutMs: Int64 = 2_000
  ) {
    self.failureThreshold = failureThreshold
    self.failureWindowMs = failureWindowMs
    self.backoffMs = backoffMs
    self.backoffMultiplier = backoffMultiplier
    self.backoffMaxMs = backoffMaxMs
    self.probeTimeoutMs = probeTimeoutMs
  }
}
