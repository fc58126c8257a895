import Libevent
import Testing

@testable import EventService

/// §8's metrics in memory: the upstream latency histogram by route and
/// outcome, the in-flight gauge, and the connection gauges.
@Suite("Operational metrics (manual clock)")
struct OperationalMetricsTests {
  /// The value of the one series whose line starts with `prefix`.
  static func value(_ text: String, _ prefix: String) -> String? {
    text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map {
      String($0.split(separator: " ").last!)
    }
  }

  @Test func anAttemptsLatencyLandsInItsRouteAndOutcomesBuckets() {
    let service = InMemoryService()
    service.get("/getUsers")
    service.clock.advance(byMs: 120)
    service.transport.answer(200, "[]")
    let text = service.metricsText
    let series =
      #"event_service_upstream_request_duration_seconds_bucket{route="getUsers",outcome="success""#
    #expect(Self.value(text, series + #",le="0.1"}"#) == "0")
    #expect(Self.value(text, series + #",le="0.25"}"#) == "1")
    #expect(
      Self.value(
        text,
        #"event_service_upstream_request_duration_seconds_count{route="getUsers",outcome="success"}"#
      )
        == "1")
  }

  @Test func aTimeoutIsItsOwnSeries() {
    let service = InMemoryService { $0.retry = .init(retries: 0, baseMs: 10, maxMs: 10) }
    service.get("/getEvents")
    service.clock.advance(byMs: 3_000)
    service.transport.fail(.timeout)
    let text = service.metricsText
    let series =
      #"event_service_upstream_request_duration_seconds_bucket{route="getEvents",outcome="timeout""#
    #expect(Self.value(text, series + #",le="2.5"}"#) == "0")
    #expect(Self.value(text, series + #",le="5.0"}"#) == "1")
  }

  @Test func requestsInFlightCountsClientRequestsBeingServed() {
    let service = InMemoryService()
    service.get("/getUsers")
    service.get("/getEventsByUserId/1")
    // Scraped as Prometheus would: /metrics is not counted itself.
    #expect(Self.value(service.get("/metrics").text, "event_service_requests_in_flight ") == "2.0")
    service.transport.answer(200, "[]", path: "/getUsers")
    #expect(Self.value(service.get("/metrics").text, "event_service_requests_in_flight ") == "1.0")
  }

  @Test func recentLatenciesGiveEachRoutesPercentiles() {
    let service = InMemoryService()
    for ms in [100, 200, 300] {
      service.get("/getUsers")
      service.clock.advance(byMs: Int64(ms))
      service.transport.answer(200, "[]")
    }
    let recent = service.context.metrics.recentUpstreamLatencies()
    #expect(recent.count == 1)
    #expect(recent.first?.route == .getUsers)
    #expect(recent.first?.p50Us == 200_000 && recent.first?.p99Us == 300_000)
  }
}
