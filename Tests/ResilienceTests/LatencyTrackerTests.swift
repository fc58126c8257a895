import Testing

@testable import Resilience

@Suite("LatencyTracker")
struct LatencyTrackerTests {
  @Test func noPercentileBeforeEnoughSamples() {
    var tracker = LatencyTracker(capacity: 1_000, minimumSamples: 100)
    for _ in 0..<99 { tracker.record(10) }
    #expect(tracker.p95 == nil)
    tracker.record(10)
    #expect(tracker.p95 == 10)
  }

  /// 1..100 ms: the 95th percentile is 96 (index 95 of the sorted samples).
  @Test func theNinetyFifthPercentile() {
    var tracker = LatencyTracker(capacity: 100, minimumSamples: 1)
    for ms in (1...100).reversed() { tracker.record(Int64(ms)) }
    #expect(tracker.p95 == 96)
  }

  /// Only the last `capacity` samples count.
  @Test func oldSamplesAgeOut() {
    var tracker = LatencyTracker(capacity: 100, minimumSamples: 1)
    for _ in 0..<100 { tracker.record(1_000) }
    for _ in 0..<100 { tracker.record(5) }
    #expect(tracker.p95 == 5)
  }
}
