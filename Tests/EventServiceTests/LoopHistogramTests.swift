import Testing

@testable import Telemetry

@Suite("Loop histogram")
struct LoopHistogramTests {
  @Test func bucketsAreCumulativeAndABoundBelongsToItsBucket() {
    let family = HistogramFamily(
      name: "t_seconds", help: "a test", buckets: [.milliseconds(10), .milliseconds(100)])
    let series = family.makeSeries(labels: [("route", "r"), ("outcome", "o")])
    for ms: Int64 in [5, 10, 11, 100, 101, 5_000] { series.record(nanoseconds: ms * 1_000_000) }
    var out: [UInt8] = []
    family.emit(into: &out)
    #expect(
      String(decoding: out, as: UTF8.self) == """
        # HELP t_seconds a test
        # TYPE t_seconds histogram
        t_seconds_bucket{route="r",outcome="o",le="0.01"} 2
        t_seconds_bucket{route="r",outcome="o",le="0.1"} 4
        t_seconds_bucket{route="r",outcome="o",le="+Inf"} 6
        t_seconds_sum{route="r",outcome="o"} 5.227
        t_seconds_count{route="r",outcome="o"} 6

        """)
  }

  @Test func aFamilyWithNoSeriesWritesNothing() {
    var out: [UInt8] = []
    HistogramFamily(name: "t", help: "h", buckets: [.seconds(1)]).emit(into: &out)
    #expect(out.isEmpty)
  }
}
