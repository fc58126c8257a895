import Telemetry
import Testing

/// The standard process metrics and the build info, read on each scrape.
@Suite("Process metrics")
struct ProcessMetricsTests {
  static func value(_ name: String, in text: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
      .flatMap { Double($0.split(separator: " ").last ?? "") }
  }

  @Test func aScrapeReportsTheProcessAndTheBuild() throws {
    let metrics = ServiceMetrics(version: "9.9.9")
    let text = String(decoding: metrics.render(), as: UTF8.self)
    #expect(text.contains(#"event_service_build_info{version="9.9.9"} 1"#))
    let open = try #require(Self.value("process_open_fds", in: text))
    let max = try #require(Self.value("process_max_fds", in: text))
    #expect(open >= 3 && open <= max)
    #expect(try #require(Self.value("process_resident_memory_bytes", in: text)) > 1_000_000)
    #expect(try #require(Self.value("process_cpu_seconds_total", in: text)) > 0)
    let started = try #require(Self.value("process_start_time_seconds", in: text))
    #expect(started > 1_700_000_000)
    #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
  }

  /// CPU time only grows between scrapes.
  @Test func cpuSecondsNeverGoDown() throws {
    let metrics = ServiceMetrics()
    let first = Self.value(
      "process_cpu_seconds_total", in: String(decoding: metrics.render(), as: UTF8.self))
    let second = Self.value(
      "process_cpu_seconds_total", in: String(decoding: metrics.render(), as: UTF8.self))
    #expect(try #require(second) >= (try #require(first)))
  }
}
