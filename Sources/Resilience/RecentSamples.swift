/// The last `capacity` values recorded (latencies, in whatever unit the
/// caller uses), and their percentiles on demand: for a status view that
/// asks once a second, not per request. Recording is one store.
public struct RecentSamples: Sendable {
  public let capacity: Int
  private var samples: [Int64] = []
  /// A copy of `samples` to select from, kept to avoid an allocation each time.
  private var scratch: [Int64] = []
  private var next = 0

  public init(capacity: Int = 1_024) { self.capacity = max(1, capacity) }

  public var count: Int { samples.count }

  public mutating func record(_ value: Int64) {
    if samples.count < capacity {
      samples.append(value)
    } else {
      samples[next] = value
      next = (next + 1) % capacity
    }
  }

  /// The nearest-rank percentile of what is kept (`percent` in 1...100):
  /// the smallest value at least `percent` % of the samples do not exceed.
  /// Nil when nothing has been recorded.
  public mutating func percentile(_ percent: Int) -> Int64? {
    guard !samples.isEmpty else { return nil }
    let rank = (samples.count * min(100, max(1, percent)) + 99) / 100
    return value(at: max(0, rank - 1))
  }

  /// The value `sorted()[index]` would hold (index clamped to the samples).
  public mutating func value(at index: Int) -> Int64? {
    guard !samples.isEmpty else { return nil }
    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: samples)
    return OrderStatistic.select(min(max(0, index), scratch.count - 1), in: &scratch)
  }
}
