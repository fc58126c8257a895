import Resilience
import Testing

@Suite("Recent samples")
struct RecentSamplesTests {
  @Test func nothingRecordedHasNoPercentile() {
    var samples = RecentSamples()
    #expect(samples.percentile(50) == nil)
  }

  @Test func nearestRankPercentilesOfOneToAHundred() {
    var samples = RecentSamples(capacity: 100)
    for value in (1...100).reversed() { samples.record(Int64(value)) }
    #expect(samples.percentile(50) == 50)
    #expect(samples.percentile(99) == 99)
    #expect(samples.percentile(100) == 100)
    #expect(samples.percentile(1) == 1)
  }

  @Test func onlyTheLastCapacityValuesCount() {
    var samples = RecentSamples(capacity: 4)
    for value in [1_000, 1_000, 1_000, 1_000, 1, 2, 3, 4] { samples.record(Int64(value)) }
    #expect(samples.count == 4)
    #expect(samples.percentile(100) == 4)
    #expect(samples.percentile(50) == 2)
  }

  @Test func oneSampleIsEveryPercentile() {
    var samples = RecentSamples()
    samples.record(7)
    #expect(samples.percentile(1) == 7 && samples.percentile(99) == 7)
  }
}
