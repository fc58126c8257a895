import Libevent
import Prometheus
import Resilience

/// The service's Prometheus metrics. Labelled series are created on first use
/// and kept per route in small arrays, found by the route's position and a
/// short scan — no key string built and nothing hashed per request
/// (measured against a string-keyed dictionary in docs/performance.md).
public final class ServiceMetrics {
  public let registry = PrometheusCollectorRegistry()
  /// Per `RouteID` (in `allCases` order), then one for unmatched paths.
  @exclusivity(unchecked) private var requests: [[(status: Int, counter: Counter)]] = Array(
    repeating: [], count: RouteID.allCases.count + 1)
  @exclusivity(unchecked) private var latencies: [LoopHistogram?] = Array(
    repeating: nil, count: RouteID.allCases.count + 1)
  private let requestLatency = HistogramFamily(
    name: "event_service_http_request_duration_seconds", help: "request latency by route",
    buckets: latencyBuckets)
  private let upstreamLatency = HistogramFamily(
    name: "event_service_upstream_request_duration_seconds",
    help: "upstream attempt latency by route and outcome", buckets: upstreamBuckets)
  /// Per `UpstreamRoute`, in `allCases` order: per outcome, its attempts
  /// and their latencies.
  @exclusivity(unchecked) private var upstream: [[UpstreamSeries]] = Array(
    repeating: [], count: UpstreamRoute.allCases.count)
  private struct UpstreamSeries {
    let outcome: UpstreamOutcome
    let counter: Counter
    let latency: LoopHistogram
  }
  /// Per `UpstreamRoute`: the latest attempts' latencies in microseconds,
  /// for the status view's percentiles.
  @exclusivity(unchecked) private var recentLatencies = Array(
    repeating: RecentSamples(), count: UpstreamRoute.allCases.count)
  private let inflight: Gauge
  private let busyConnections: Gauge
  private let idleConnections: Gauge
  private let waitingForConnection: Gauge
  private var transitions: [String: Counter] = [:]
  /// `allCases` builds a new array on each call: the slot order, read once.
  private static let routes = RouteID.allCases
  private static let upstreamRoutes = UpstreamRoute.allCases
  /// Per breaker: a gauge per state, and the requests it short-circuited.
  private typealias BreakerSeries = (state: [BreakerState: Gauge], shortCircuited: Counter)
  private var writeBreaker: BreakerSeries?
  private var readBreaker: BreakerSeries?
  private let lateOutcomes: Counter
  private let droppedLogLines: Counter
  private let retriesAllowed: Counter
  private let retriesRefused: Counter
  private let hedges: Counter
  private let hedgesRefused: Counter
  private let shed: Counter
  private let keyStoreErrors: Counter
  /// Per `UpstreamRoute`: kept answers served fresh, served stale, and
  /// upstream answers kept (made on first use).
  private var cacheCounters: [(hit: Counter, stale: Counter, miss: Counter)?] = Array(
    repeating: nil, count: UpstreamRoute.allCases.count)
  /// The same counts, readable (a Prometheus counter is write-only).
  private var cacheTotals: [(hit: Int64, stale: Int64, miss: Int64)?] = Array(
    repeating: nil, count: UpstreamRoute.allCases.count)
  private var droppedLogLinesReported = 0
  /// Made on the first scrape with an HTTPS upstream.
  private var handshakes: (full: Counter, resumed: Counter)?
  private var handshakesReported = HTTPClient.Handshakes()
  private let process: ProcessMetrics

  private static let latencyBuckets: [Duration] = [
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
  ].map {
    .milliseconds($0)
  }
  /// Upstream attempts: around the event API's half second, and up to the
  /// longest attempt timeout anyone would set.
  private static let upstreamBuckets: [Duration] = [
    5, 10, 25, 50, 100, 250, 500, 750, 1000, 2500, 5000, 10000,
  ].map {
    .milliseconds($0)
  }

  /// `version`: the build's, for `event_service_build_info`.
  public init(version: String = "unknown") {
    let registry = self.registry
    process = ProcessMetrics(registry: registry, version: version)
    func total(_ metric: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
      registry.makeCounter(descriptor: Self.name(metric, "total", help), labels: labels)
    }
    lateOutcomes = total(
      "breaker_late_outcomes", "outcomes that arrived after the breaker had moved on")
    let retryHelp = "GET retries asked of the retry budget"
    retriesAllowed = total("upstream_retries", retryHelp, [("decision", "allowed")])
    retriesRefused = total("upstream_retries", retryHelp, [("decision", "refused")])
    hedges = total("upstream_hedges", "hedge requests sent for late event fetches")
    hedgesRefused = total(
      "upstream_hedges_refused", "late event fetches not hedged because the hedge budget was spent")
    shed = total(
      "requests_shed", "client requests answered 503 overloaded at once (MAX_INFLIGHT)")
    droppedLogLines = total(
      "log_lines_dropped", "log lines dropped because stdout was not being read")
    keyStoreErrors = total(
      "idempotency_store_errors",
      "idempotency key store commands that failed (Redis unreachable or an error reply)")
    func gauge(_ metric: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
      registry.makeGauge(descriptor: Self.name(metric, "", help), labels: labels)
    }
    inflight = gauge(
      "requests_in_flight", "client requests being served (counted against MAX_INFLIGHT)")
    let connectionHelp = "upstream connections by state: carrying a request or opening, or idle"
    busyConnections = gauge("upstream_connections", connectionHelp, [("state", "busy")])
    idleConnections = gauge("upstream_connections", connectionHelp, [("state", "idle")])
    waitingForConnection = gauge(
      "upstream_requests_waiting", "upstream requests waiting for a pool connection")
  }

  /// Makes the breaker's series, CLOSED.
  public func register(breaker name: BreakerName) {
    let registry = self.registry
    let labels = [("breaker", name.rawValue)]
    let state = Dictionary(
      uniqueKeysWithValues: [BreakerState.closed, .open, .halfOpen].map {
        (
          $0,
          registry.makeGauge(
            descriptor: Self.name("breaker_state", "", "1 for the breaker's current state"),
            labels: labels + [("state", $0.rawValue)])
        )
      })
    let shortCircuited = registry.makeCounter(
      descriptor: Self.name(
        "breaker_short_circuited", "total",
        "requests answered without an upstream call because the breaker was open"),
      labels: labels)
    if name == .write {
      writeBreaker = (state, shortCircuited)
    } else {
      readBreaker = (state, shortCircuited)
    }
    setBreakerState(name, .closed)
  }

  private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor
  {
    MetricNameDescriptor(
      namespace: "event_service", metricName: metric, unitName: unit, helpText: help)
  }

  /// `route` nil: the path matched no route (label `unmatched`).
  public func recordRequest(route: RouteID?, status: Int, nanoseconds: Int64) {
    let slot = route.flatMap { Self.routes.firstIndex(of: $0) } ?? Self.routes.count
    let label = route?.rawValue ?? "unmatched"
    let counter =
      requests[slot].first { $0.status == status }?.counter
      ?? {
        let made = registry.makeCounter(
          descriptor: Self.name("http_requests", "total", "requests by route and status"),
          labels: [("route", label), ("status", String(status))])
        requests[slot].append((status, made))
        return made
      }()
    counter.increment()
    let histogram =
      latencies[slot]
      ?? {
        let made = requestLatency.makeSeries(labels: [("route", label)])
        latencies[slot] = made
        return made
      }()
    histogram.record(nanoseconds: nanoseconds)
  }

  /// One upstream attempt: how it ended and how long it took.
  public func recordUpstream(
    route: UpstreamRoute, outcome: UpstreamOutcome, microseconds: Int64
  ) {
    let slot = Self.upstreamRoutes.firstIndex(of: route)!
    let series =
      upstream[slot].first { $0.outcome == outcome }
      ?? {
        let labels = [("route", route.rawValue), ("outcome", outcome.rawValue)]
        let made = UpstreamSeries(
          outcome: outcome,
          counter: registry.makeCounter(
            descriptor: Self.name(
              "upstream_requests", "total", "upstream attempts by route and outcome"),
            labels: labels),
          latency: upstreamLatency.makeSeries(labels: labels))
        upstream[slot].append(made)
        return made
      }()
    series.counter.increment()
    series.latency.record(nanoseconds: microseconds * 1_000)
    recentLatencies[slot].record(microseconds)
  }

  /// The p50 and p99 of each upstream route's latest attempts, in
  /// microseconds; routes with none are left out.
  public func recentUpstreamLatencies() -> [(route: UpstreamRoute, p50Us: Int64, p99Us: Int64)] {
    Self.upstreamRoutes.indices.compactMap { slot in
      guard let p50 = recentLatencies[slot].percentile(50),
        let p99 = recentLatencies[slot].percentile(99)
      else { return nil }
      return (Self.upstreamRoutes[slot], p50, p99)
    }
  }

  /// Kept answers served per upstream route so far: fresh hits, stale
  /// answers, and upstream answers kept.
  public func cacheCounts() -> [(route: UpstreamRoute, hit: Int64, stale: Int64, miss: Int64)] {
    zip(Self.upstreamRoutes, cacheTotals).compactMap { route, totals in
      totals.map { (route, $0.hit, $0.stale, $0.miss) }
    }
  }

  public func recordTransition(_ transition: BreakerTransition, breaker name: BreakerName) {
    let (from, to) = (transition.from.rawValue, transition.to.rawValue)
    counter(
      &transitions, key: "\(name.rawValue) \(from) \(to)", "breaker_transitions",
      "breaker transitions", [("breaker", name.rawValue), ("from", from), ("to", to)]
    )
    .increment()
    setBreakerState(name, transition.to)
  }

  public func recordShortCircuit(breaker name: BreakerName) {
    switch name {
    case .write: writeBreaker?.shortCircuited.increment()
    case .read: readBreaker?.shortCircuited.increment()
    }
  }

  public func recordHedge(sent: Bool) { (sent ? hedges : hedgesRefused).increment() }

  public func recordRetry(allowed: Bool) {
    (allowed ? retriesAllowed : retriesRefused).increment()
  }

  public func recordShed() { shed.increment() }

  public func recordKeyStoreError() { keyStoreErrors.increment() }

  public func recordCache(route: UpstreamRoute, _ use: CacheUse) {
    let slot = Self.upstreamRoutes.firstIndex(of: route)!
    let counters =
      cacheCounters[slot]
      ?? {
        let help =
          "upstream GETs answered from kept answers (hit, stale) or from the upstream (miss)"
        func make(_ result: String) -> Counter {
          registry.makeCounter(
            descriptor: Self.name("cache_requests", "total", help),
            labels: [("route", route.rawValue), ("result", result)])
        }
        let made = (hit: make("hit"), stale: make("stale"), miss: make("miss"))
        cacheCounters[slot] = made
        return made
      }()
    var totals = cacheTotals[slot] ?? (0, 0, 0)
    switch use {
    case .hit:
      counters.hit.increment()
      totals.hit += 1
    case .stale:
      counters.stale.increment()
      totals.stale += 1
    case .miss:
      counters.miss.increment()
      totals.miss += 1
    }
    cacheTotals[slot] = totals
  }

  public func recordLateOutcome() { lateOutcomes.increment() }

  /// `tlsHandshakes`: the upstream client's counts, for an HTTPS upstream;
  /// `inflight` and `connections`: the service's load now.
  public func render(
    tlsHandshakes: HTTPClient.Handshakes? = nil, inflight: Int = 0,
    connections: ConnectionUse = ConnectionUse()
  ) -> [UInt8] {
    process.update()
    self.inflight.set(to: Double(inflight))
    busyConnections.set(to: Double(connections.busy))
    idleConnections.set(to: Double(connections.idle))
    waitingForConnection.set(to: Double(connections.waiting))
    if let counts = tlsHandshakes { report(counts) }
    // The sink counts drops on its own (it may drop before metrics exist).
    let dropped = LogSink.standardOutput.dropped
    if dropped > droppedLogLinesReported {
      droppedLogLines.increment(by: Int64(dropped - droppedLogLinesReported))
      droppedLogLinesReported = dropped
    }
    var out = registry.emitToBuffer()
    requestLatency.emit(into: &out)
    upstreamLatency.emit(into: &out)
    return out
  }

  private func report(_ counts: HTTPClient.Handshakes) {
    let counters =
      handshakes
      ?? {
        let help = "TLS handshakes of new upstream connections, full or resuming a session"
        let made = (
          full: registry.makeCounter(
            descriptor: Self.name("upstream_tls_handshakes", "total", help),
            labels: [("session", "full")]),
          resumed: registry.makeCounter(
            descriptor: Self.name("upstream_tls_handshakes", "total", help),
            labels: [("session", "resumed")])
        )
        handshakes = made
        return made
      }()
    counters.full.increment(by: Int64(counts.full - handshakesReported.full))
    counters.resumed.increment(by: Int64(counts.resumed - handshakesReported.resumed))
    handshakesReported = counts
  }

  private func setBreakerState(_ name: BreakerName, _ state: BreakerState) {
    for (candidate, gauge) in (name == .write ? writeBreaker : readBreaker)?.state ?? [:] {
      gauge.set(to: candidate == state ? 1.0 : 0.0)
    }
  }

  /// The counter for these labels, made on first use. The labels are only
  /// built on that first use, not on every request.
  private func counter(
    _ table: inout [String: Counter], key: String, _ metric: String, _ help: String,
    _ labels: @autoclosure () -> [(String, String)]
  ) -> Counter {
    table[key]
      ?? cache(&table, key) {
        registry.makeCounter(descriptor: Self.name(metric, "total", help), labels: labels())
      }
  }

  private func cache<T>(_ table: inout [String: T], _ key: String, make: () -> T) -> T {
    let value = make()
    table[key] = value
    return value
  }
}
