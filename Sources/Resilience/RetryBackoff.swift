/// Exponential backoff with full jitter between attempts of an idempotent
/// call: attempt `n` (0-based) waits a uniformly random time in
/// `[0, min(maxMs, baseMs · 2^n)]`.
public struct RetryBackoff: Sendable, Equatable {
  public var retries: Int
  public var baseMs: Int64
  public var maxMs: Int64

  public init(retries: Int, baseMs: Int64, maxMs: Int64) {
    self.retries = retries
    self.baseMs = baseMs
    self.maxMs = maxMs
  }

  /// The upper bound of the wait before retry number `attempt` (0-based).
  public func ceilingMs(attempt: Int) -> Int64 {
    let shift = min(attempt, 40)
    let (scaled, overflow) = baseMs.multipliedReportingOverflow(by: Int64(1) << shift)
    return min(maxMs, overflow ? maxMs : scaled)
  }

  /// The wait before retry number `attempt`, or nil when no retries are left.
  public func delayMs(attempt: Int, using random: inout some RandomNumberGenerator) -> Int64? {
    guard attempt < retries else { return nil }
    let ceiling = ceilingMs(attempt: attempt)
    return ceiling <= 0 ? 0 : Int64.random(in: 0...ceiling, using: &random)
  }
}
