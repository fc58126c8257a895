/// The running 95th percentile of recent latencies (the last `capacity`
/// samples, in whatever unit the caller records), for deciding when a
/// request is late enough to hedge. The percentile is recomputed every
/// `capacity / 20` samples, not per query.
///
/// The default capacity spans several 1,000-event fan-outs: a fan-out's
/// latencies are packed within a few milliseconds, and the next one may
/// come a few milliseconds later as a whole. A p95 taken over one fan-out
/// alone then calls hundreds of fetches of a slightly slower one late.
public struct LatencyTracker: Sendable {
  public let capacity: Int
  /// Samples needed before `p95` answers.
  public let minimumSamples: Int
  private var samples: RecentSamples
  private var recorded = 0
  private var cached: Int64?
  private var sinceRecompute = 0

  public init(capacity: Int = 5_000, minimumSamples: Int = 100) {
    self.capacity = max(1, capacity)
    self.minimumSamples = minimumSamples
    samples = RecentSamples(capacity: capacity)
  }

  public mutating func record(_ latency: Int64) {
    samples.record(latency)
    recorded += 1
    sinceRecompute += 1
    if cached == nil || sinceRecompute >= max(1, capacity / 20) { recompute() }
  }

  /// Nil until `minimumSamples` latencies have been recorded.
  public var p95: Int64? { recorded >= minimumSamples ? cached : nil }

  /// The value at index `count × 95 / 100` of the sorted samples.
  private mutating func recompute() {
    cached = samples.value(at: samples.count * 95 / 100)
    sinceRecompute = 0
  }
}
