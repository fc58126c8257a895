/// How many hedges may be sent: a share of the event fetches started over a
/// sliding window (10 s, no reserve), and no more than the same share of
/// those started over the last second plus 10 (the pace), so that one burst
/// cannot spend the window.
///
/// The pace is there for fan-outs. A 1,000-event fan-out's answers come back
/// within a few milliseconds of each other; when one comes back a little
/// slower than the running p95 expects, hundreds of its fetches are late at
/// once. Without the pace they spend the whole window's share, and the next
/// fan-outs find no hedge for their truly slow lookups. With it, a burst
/// spends about its own share. The 10 keep the pace from binding before the
/// window does when traffic is light.
///
/// A pure state machine like `RetryBudget`, whose arithmetic it reuses: time
/// comes in as milliseconds, decisions go out.
public struct HedgeBudget: Sendable {
  public static let paceWindowMs: Int64 = 1_000
  public static let paceFloor = 10

  private var window: RetryBudget
  private var pace: RetryBudget

  public init(percent: Int, windowMs: Int64) {
    window = RetryBudget(settings: .init(percent: percent, minPerSecond: 0, windowMs: windowMs))
    pace = RetryBudget(
      settings: .init(
        percent: percent, minPerSecond: Self.paceFloor * 1_000 / Int(Self.paceWindowMs),
        windowMs: Self.paceWindowMs))
  }

  /// An event fetch was sent (hedges themselves are not counted).
  public mutating func recordFetch(now: Int64) {
    window.recordFirstAttempt(now: now)
    pace.recordFirstAttempt(now: now)
  }

  /// Event fetches and hedges over the window, and how many hedges may be
  /// sent now (the smaller of what the window and the pace allow).
  public mutating func state(now: Int64) -> RetryBudget.State {
    let window = window.state(now: now)
    return RetryBudget.State(
      firstAttempts: window.firstAttempts, retries: window.retries,
      available: min(window.available, pace.state(now: now).available))
  }

  /// A late fetch asks for a hedge: true (and counted) while both the
  /// window and the pace allow one.
  public mutating func allowHedge(now: Int64) -> Bool {
    guard pace.state(now: now).available > 0, window.allowRetry(now: now) else { return false }
    return pace.allowRetry(now: now)
  }
}
