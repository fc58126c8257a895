/// Hedged event fetches (`HEDGE_*`): when a `getEventById` is late, a second
/// request for the same id goes out on another connection and the first
/// good answer wins.
public struct HedgeSettings: Sendable, Equatable {
  public var enabled = false
  /// How late is late; 0 means the running p95 of event fetches (at least
  /// `minimumAfterMs`), fixed when a fetch starts.
  public var afterMs: Int64 = 0
  /// Hedges allowed per 100 event fetches started over the last 10 s.
  public var budgetPercent = 5

  public static let minimumAfterMs: Int64 = 50
  public static let budgetWindowMs: Int64 = 10_000

  public init() {}
}
