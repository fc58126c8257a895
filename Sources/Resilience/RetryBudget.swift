/// A retry budget (as in Finagle and Envoy): retries may only be spent while,
/// over a sliding window, they stay within a share of the first attempts
/// plus a fixed reserve. When the upstream is down under load, the service
/// then sends it about `1 + percent/100` attempts per request instead of
/// `retries + 1`, while a few lost connections are still retried.
///
/// A pure state machine: time comes in as milliseconds, decisions go out.
/// The window is kept as `buckets` counters (a tenth of the window each), so
/// memory stays constant whatever the rate; a bucket leaves the window as a
/// whole, which makes the window up to a tenth shorter than configured.
public struct RetryBudget: Sendable {
  public struct Settings: Sendable, Equatable {
    /// Retries allowed per 100 first attempts in the window.
    public var percent: Int
    /// Retries always allowed per second of window, first attempts or not.
    public var minPerSecond: Int
    public var windowMs: Int64

    public init(percent: Int, minPerSecond: Int, windowMs: Int64) {
      self.percent = percent
      self.minPerSecond = minPerSecond
      self.windowMs = windowMs
    }

    /// The reserve: `minPerSecond` × the window in seconds.
    public var reserve: Int { Int(Int64(minPerSecond) * windowMs / 1_000) }
  }

  /// What the budget holds now, for /health.
  public struct State: Sendable, Equatable {
    public let firstAttempts: Int
    public let retries: Int
    /// Retries that would be allowed now.
    public let available: Int

    public init(firstAttempts: Int, retries: Int, available: Int) {
      self.firstAttempts = firstAttempts
      self.retries = retries
      self.available = available
    }
  }

  public let settings: Settings
  private static let buckets = 10
  private var firstAttempts = [Int](repeating: 0, count: buckets)
  private var retries = [Int](repeating: 0, count: buckets)
  /// The bucket index (time ÷ bucket length) that `current` holds.
  private var currentTick: Int64 = 0
  private var current = 0

  public init(settings: Settings) { self.settings = settings }

  private var bucketMs: Int64 { max(1, settings.windowMs / Int64(Self.buckets)) }

  /// An upstream request was actually sent for the first time.
  public mutating func recordFirstAttempt(now: Int64) {
    advance(to: now)
    firstAttempts[current] += 1
  }

  /// A failed attempt asks to be retried: true (and counted) while the
  /// budget allows it, false when it is spent.
  public mutating func allowRetry(now: Int64) -> Bool {
    advance(to: now)
    guard available > 0 else { return false }
    retries[current] += 1
    return true
  }

  public mutating func state(now: Int64) -> State {
    advance(to: now)
    return State(
      firstAttempts: firstAttempts.reduce(0, +), retries: retries.reduce(0, +),
      available: available)
  }

  private var available: Int {
    let allowed = firstAttempts.reduce(0, +) * settings.percent / 100 + settings.reserve
    return max(0, allowed - retries.reduce(0, +))
  }

  /// Empties the buckets that have left the window since the last event.
  private mutating func advance(to now: Int64) {
    let tick = now / bucketMs
    guard tick > currentTick else { return }
    let steps = Int(min(tick - currentTick, Int64(Self.buckets)))
    for _ in 0..<steps {
      current = (current + 1) % Self.buckets
      firstAttempts[current] = 0
      retries[current] = 0
    }
    currentTick = tick
  }
}
