import Libevent
import Logging
import MiniJSON
import Resilience
import Telemetry

/// Every setting of the service (docs/api.md, "Configuration"), with its
/// default. `parse` is the one place where its keys are named, defaulted and
/// validated.
public struct ServiceConfig: Sendable {
  public var host = "127.0.0.1"
  public var port = 3000
  public var apiBase = UpstreamAddress(host: "127.0.0.1", port: 3001)
  /// `API_BASE` left empty: the upstream is the embedded mock, wherever it
  /// listens (set by the composition root); with the mock off, an error.
  public var apiBaseFollowsMock = true
  /// The upstream is the embedded mock's fake data (`/health` says so).
  public var upstreamIsEmbeddedMock = false
  /// Sent on every upstream request (`UPSTREAM_HEADERS`, `UPSTREAM_HEADERS_FILE`).
  public var upstreamHeaders: [(String, String)] = []
  /// CAs an `https://` upstream's chain is verified against; "" = the system's.
  public var upstreamCAFile = ""
  /// Where evdns finds the nameservers for an upstream host name.
  public var resolvConf = "/etc/resolv.conf"
  public var breaker = BreakerSettings()
  public var upstreamTimeoutMs: Int64 = 2_000
  public var upstreamMaxConnections = 4_096
  public var retry = RetryBackoff(retries: 2, baseMs: 25, maxMs: 250)
  public var retryBudget = RetryBudget.Settings(percent: 20, minPerSecond: 10, windowMs: 10_000)
  public var idempotencyTTLMs: Int64 = 86_400_000
  public var hedging = HedgeSettings()
  public var idempotencyMaxKeys = 100_000
  /// SPEC §9: where keys live, and how long a key in flight is held by the
  /// instance sending it (0: 2 × `UPSTREAM_TIMEOUT_MS` + 1000).
  public var idempotencyStore = IdempotencyStoreAddress.memory
  public var idempotencyLeaseMs: Int64 = 0
  /// The lease in force: the configured one, or the default derived from
  /// the attempt timeout (an owner finishes within one attempt).
  public var effectiveIdempotencyLeaseMs: Int64 {
    idempotencyLeaseMs > 0 ? idempotencyLeaseMs : 2 * upstreamTimeoutMs + 1_000
  }
  public var coalesceGets = true
  public var maxBodyBytes = 65_536
  public var maxUpstreamBodyBytes = 8_388_608
  public var maxEventsPerUser = 10_000
  public var maxBufferedBytes = 268_435_456
  public var clientHeaderTimeoutMs: Int64 = 10_000
  public var clientBodyTimeoutMs: Int64 = 10_000
  public var shutdownGraceMs: Int64 = 10_000
  /// After SIGTERM, how long `/ready` says 503 while everything else is
  /// served as usual, before the listener closes (the lame duck).
  public var drainDelayMs: Int64 = 0
  /// SPEC §7: a client request's whole life; client requests served at
  /// once; event fetches of one request in flight at once (0 = no limit).
  public var requestTimeoutMs: Int64 = 10_000
  public var maxInflight = 10_000
  public var fanoutConcurrency = 0
  public var readBreakerEnabled = false
  /// Kept answers: served on failure while younger than `staleIfErrorMs`,
  /// without asking while younger than `cacheTTLMs` (0 = off), in at most
  /// `cacheMaxBytes` of bodies.
  public var staleIfErrorMs: Int64 = 0
  public var cacheTTLMs: Int64 = 0
  public var cacheMaxBytes = 16_777_216
  public var logLevel: Logger.Level = .info
  public var logFormat = LogFormat.logfmt

  public init() {}

  /// Reads the service's keys from `source`. Other sections (`MOCK`) are
  /// read by whoever owns them; the caller then rejects what nobody read.
  public static func parse(_ source: inout ConfigSource) throws(ConfigError) -> ServiceConfig {
    var c = ServiceConfig()
    c.host = try source.string("HOST", default: c.host)
    c.port = try source.int("PORT", default: c.port, in: 0...65535)
    let apiBase = try source.string("API_BASE", default: "")
    c.apiBaseFollowsMock = apiBase.isEmpty
    if !apiBase.isEmpty { c.apiBase = try UpstreamAddress.parse(apiBase) }
    let inline = try source.secret(
      "UPSTREAM_HEADERS", default: .object([]), shown: UpstreamHeaders.redacted)
    let headersFile = try source.string("UPSTREAM_HEADERS_FILE", default: "")
    c.upstreamHeaders = try UpstreamHeaders.parse(inline: inline, filePath: headersFile)
    c.upstreamCAFile = try source.string("UPSTREAM_CA_FILE", default: c.upstreamCAFile)
    if c.apiBase.usesTLS || !c.upstreamCAFile.isEmpty {
      // Loaded once here, so that a bad file stops the start with its reason.
      do {
        _ = try TLSClientContext(caFile: c.upstreamCAFile)
      } catch {
        throw ConfigError(key: "UPSTREAM_CA_FILE", problem: error.description)
      }
    }
    c.resolvConf = try source.string("RESOLV_CONF", default: c.resolvConf)
    c.breaker.failureThreshold = try source.int(
      "FAILURE_THRESHOLD", default: c.breaker.failureThreshold, in: 1...1_000_000)
    c.breaker.failureWindowMs = try source.milliseconds(
      "FAILURE_WINDOW_MS", default: c.breaker.failureWindowMs, minimum: 1)
    c.breaker.backoffMs = try source.milliseconds(
      "BACKOFF_MS", default: c.breaker.backoffMs, minimum: 1)
    c.breaker.backoffMultiplier = try source.double(
      "BACKOFF_MULTIPLIER", default: c.breaker.backoffMultiplier, in: 1...1_000)
    c.breaker.backoffMaxMs = try source.milliseconds(
      "BACKOFF_MAX_MS", default: c.breaker.backoffMaxMs, minimum: 1)
    guard c.breaker.backoffMaxMs >= c.breaker.backoffMs else {
      throw ConfigError(
        key: "BACKOFF_MAX_MS", problem: "must not be below BACKOFF_MS (\(c.breaker.backoffMs))")
    }
    c.upstreamTimeoutMs = try source.milliseconds(
      "UPSTREAM_TIMEOUT_MS", default: c.upstreamTimeoutMs, minimum: 1)
    c.breaker.probeTimeoutMs = c.upstreamTimeoutMs
    c.upstreamMaxConnections = try source.int(
      "UPSTREAM_MAX_CONNECTIONS", default: c.upstreamMaxConnections, in: 1...1_000_000)
    c.retry.retries = try source.int("GET_RETRIES", default: c.retry.retries, in: 0...100)
    c.coalesceGets = try source.bool("COALESCE_GETS", default: c.coalesceGets)
    c.retry.baseMs = try source.milliseconds("RETRY_BASE_MS", default: c.retry.baseMs)
    c.retry.maxMs = try source.milliseconds("RETRY_MAX_MS", default: c.retry.maxMs)
    c.maxBodyBytes = try source.int("MAX_BODY_BYTES", default: c.maxBodyBytes, in: 2...(64 << 20))
    c.maxUpstreamBodyBytes = try source.int(
      "MAX_UPSTREAM_BODY_BYTES", default: c.maxUpstreamBodyBytes, in: 1_024...(1 << 30))
    c.maxEventsPerUser = try source.int(
      "MAX_EVENTS_PER_USER", default: c.maxEventsPerUser, in: 1...10_000_000)
    c.maxBufferedBytes = try source.int(
      "MAX_BUFFERED_BYTES", default: c.maxBufferedBytes, in: (1 << 20)...(1 << 40))
    c.clientHeaderTimeoutMs = try source.milliseconds(
      "CLIENT_HEADER_TIMEOUT_MS", default: c.clientHeaderTimeoutMs, minimum: 1)
    c.clientBodyTimeoutMs = try source.milliseconds(
      "CLIENT_BODY_TIMEOUT_MS", default: c.clientBodyTimeoutMs, minimum: 1)
    c.retryBudget.percent = try source.int(
      "RETRY_BUDGET_PERCENT", default: c.retryBudget.percent, in: 0...1_000)
    c.retryBudget.minPerSecond = try source.int(
      "RETRY_BUDGET_MIN_PER_S", default: c.retryBudget.minPerSecond, in: 0...1_000_000)
    c.retryBudget.windowMs = try source.milliseconds(
      "RETRY_BUDGET_WINDOW_MS", default: c.retryBudget.windowMs, minimum: 100)
    c.idempotencyTTLMs = try source.milliseconds(
      "IDEMPOTENCY_TTL_MS", default: c.idempotencyTTLMs, minimum: 1)
    c.idempotencyMaxKeys = try source.int(
      "IDEMPOTENCY_MAX_KEYS", default: c.idempotencyMaxKeys, in: 0...10_000_000)
    let store = try source.string("IDEMPOTENCY_STORE", default: c.idempotencyStore.description)
    guard let address = IdempotencyStoreAddress(store) else {
      throw ConfigError(
        key: "IDEMPOTENCY_STORE",
        problem: "expected memory or redis://host:port[/db] (db 0-15), got \"\(store)\"")
    }
    c.idempotencyStore = address
    c.idempotencyLeaseMs = try source.milliseconds(
      "IDEMPOTENCY_LEASE_MS", default: c.idempotencyLeaseMs)
    c.hedging.enabled = try source.bool("HEDGE_ENABLED", default: c.hedging.enabled)
    c.hedging.afterMs = try source.milliseconds("HEDGE_AFTER_MS", default: c.hedging.afterMs)
    c.hedging.budgetPercent = try source.int(
      "HEDGE_BUDGET_PERCENT", default: c.hedging.budgetPercent, in: 0...100)
    c.shutdownGraceMs = try source.milliseconds("SHUTDOWN_GRACE_MS", default: c.shutdownGraceMs)
    c.drainDelayMs = try source.milliseconds("DRAIN_DELAY_MS", default: c.drainDelayMs)
    c.requestTimeoutMs = try source.milliseconds(
      "REQUEST_TIMEOUT_MS", default: c.requestTimeoutMs, minimum: 1)
    c.maxInflight = try source.int("MAX_INFLIGHT", default: c.maxInflight, in: 1...10_000_000)
    c.fanoutConcurrency = try source.int(
      "FANOUT_CONCURRENCY", default: c.fanoutConcurrency, in: 0...1_000_000)
    c.readBreakerEnabled = try source.bool("READ_BREAKER_ENABLED", default: c.readBreakerEnabled)
    c.staleIfErrorMs = try source.milliseconds("STALE_IF_ERROR_MS", default: c.staleIfErrorMs)
    c.cacheTTLMs = try source.milliseconds("CACHE_TTL_MS", default: c.cacheTTLMs)
    c.cacheMaxBytes = try source.int(
      "CACHE_MAX_BYTES", default: c.cacheMaxBytes, in: 0...(1 << 40))
    let level = try source.string("LOG_LEVEL", default: c.logLevel.rawValue)
    guard let parsed = Logger.Level(rawValue: level), parsed != .notice, parsed != .critical else {
      throw ConfigError(
        key: "LOG_LEVEL", problem: "expected trace, debug, info, warning or error, got \"\(level)\""
      )
    }
    c.logLevel = parsed
    let format = try source.string("LOG_FORMAT", default: c.logFormat.rawValue)
    guard let logFormat = LogFormat(rawValue: format) else {
      throw ConfigError(key: "LOG_FORMAT", problem: "expected logfmt or json, got \"\(format)\"")
    }
    c.logFormat = logFormat
    return c
  }
}
