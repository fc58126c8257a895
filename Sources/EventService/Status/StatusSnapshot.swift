import MiniJSON
import Resilience
import Telemetry

/// What `/status` shows, as one JSON object (one event of `/status/stream`):
/// the breakers, the retry and hedge budgets, the load, upstream latencies
/// and kept answers by route, and the last breaker transitions.
enum StatusSnapshot {
  static func json(of context: ServiceContext) -> [UInt8] {
    var out: [UInt8] = []
    tree(of: context).write(into: &out)
    return out
  }

  static func tree(of context: ServiceContext) -> JSONValue {
    let now = context.clock.nowMs
    let upstream = context.upstream
    let connections = context.connectionUse()
    return .object([
      ("version", .string(ServiceVersion.current)),
      ("draining", .bool(context.isDraining)),
      (
        "breakers",
        .object([
          ("write", breaker(context.breaker.snapshot)),
          ("read", context.readBreaker.map { breaker($0.snapshot) } ?? .null),
        ])
      ),
      ("retryBudget", budget(upstream.retryBudget, spent: "retries")),
      (
        "hedging",
        context.config.hedging.enabled
          ? .object(
            members(budget(upstream.hedgeBudget, spent: "hedges"))
              + [("delayMs", upstream.hedgeDelayMs.map { .int(Int($0)) } ?? .null)])
          : .null
      ),
      ("inflight", .int(context.inflight)),
      ("maxInflight", .int(context.config.maxInflight)),
      (
        "connections",
        .object([
          ("busy", .int(connections.busy)), ("idle", .int(connections.idle)),
          ("waiting", .int(connections.waiting)),
          ("max", .int(context.config.upstreamMaxConnections)),
        ])
      ),
      (
        "upstreamLatency",
        .array(
          context.metrics.recentUpstreamLatencies().map {
            .object([
              ("route", .string($0.route.rawValue)), ("p50Ms", milliseconds($0.p50Us)),
              ("p99Ms", milliseconds($0.p99Us)),
            ])
          })
      ),
      (
        "cache",
        .array(
          context.metrics.cacheCounts().map {
            .object([
              ("route", .string($0.route.rawValue)), ("hit", .int(Int($0.hit))),
              ("stale", .int(Int($0.stale))), ("miss", .int(Int($0.miss))),
            ])
          })
      ),
      (
        "transitions",
        .array(
          context.status.transitions.reversed().map {
            .object([
              ("breaker", .string($0.breaker.rawValue)),
              ("from", .string($0.transition.from.rawValue)),
              ("to", .string($0.transition.to.rawValue)),
              ("reason", .string($0.transition.reason.rawValue)),
              ("agoMs", .int(Int(now - $0.transition.atMs))),
            ])
          })
      ),
      ("viewers", .int(context.status.viewers.count)),
    ])
  }

  private static func breaker(_ snapshot: BreakerGuard.Snapshot) -> JSONValue {
    .object([
      ("state", .string(snapshot.state.rawValue)),
      ("failuresInWindow", .int(snapshot.failuresInWindow)),
      ("retryAfterMs", snapshot.retryAfterMs.map { .int(Int($0)) } ?? .null),
    ])
  }

  private static func budget(_ state: RetryBudget.State, spent: String) -> JSONValue {
    .object([
      ("firstAttempts", .int(state.firstAttempts)), (spent, .int(state.retries)),
      ("available", .int(state.available)),
    ])
  }

  private static func members(_ value: JSONValue) -> [(String, JSONValue)] {
    if case .object(let members) = value { return members }
    return []
  }

  /// Microseconds as milliseconds with one decimal.
  private static func milliseconds(_ us: Int64) -> JSONValue {
    .number("\(us / 1_000).\(us % 1_000 / 100)")
  }
}
