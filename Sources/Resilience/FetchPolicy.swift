/// What every fetch of one upstream client shares: the backoff between
/// attempts, the retry and hedge budgets they spend, the event latencies
/// that set the hedge delay, and the random numbers of the jitter. Owned by
/// the client and lent to a `FetchMachine` for each event it handles.
public struct FetchPolicy {
  public var backoff: RetryBackoff
  public var budget: RetryBudget
  public var hedging: HedgeSettings
  public var hedgeBudget: HedgeBudget
  /// Event fetch latencies in microseconds: the top of a fan-out's
  /// latencies is packed tight, and whole milliseconds would put a tenth
  /// of the fetches in the p95's millisecond, all of which the hedge timer,
  /// set at its start, would call late.
  public var eventLatency = LatencyTracker()
  /// `UPSTREAM_TIMEOUT_MS`: an attempt's own deadline when more time is left.
  public var attemptTimeoutMs: Int64
  public var random: any RandomNumberGenerator

  public init(
    backoff: RetryBackoff, budget: RetryBudget.Settings, hedging: HedgeSettings = HedgeSettings(),
    attemptTimeoutMs: Int64, random: any RandomNumberGenerator = SystemRandomNumberGenerator()
  ) {
    self.backoff = backoff
    self.budget = RetryBudget(settings: budget)
    self.hedging = hedging
    hedgeBudget = HedgeBudget(
      percent: hedging.budgetPercent, windowMs: HedgeSettings.budgetWindowMs)
    self.attemptTimeoutMs = max(1, attemptTimeoutMs)
    self.random = random
  }

  /// The hedge delay: the fixed `HEDGE_AFTER_MS`, or the running p95 (not
  /// before enough fetches have been timed, and never under the minimum).
  public var hedgeDelayMs: Int64? {
    if hedging.afterMs > 0 { return hedging.afterMs }
    return eventLatency.p95.map { max(HedgeSettings.minimumAfterMs, ($0 + 999) / 1_000) }
  }
}
