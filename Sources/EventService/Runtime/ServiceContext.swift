import IdempotencyKeys
import Libevent
import Logging
import Resilience
import Settings
import Telemetry
import UpstreamAccess

/// What every handler needs, created once per service.
final class ServiceContext {
  /// The loop's clock and timers (a `ManualScheduler` in tests).
  let clock: any Scheduler
  let config: ServiceConfig
  let logger: Logger
  let metrics: ServiceMetrics
  let upstream: UpstreamClient
  /// The TLS handshakes of the upstream connections, for /metrics (an
  /// `https://` upstream only).
  let tlsHandshakes: (() -> HTTPClient.Handshakes)?
  /// The upstream client's connections now, for /metrics and /status.
  let connectionUse: () -> ConnectionUse
  let breaker: BreakerGuard
  /// Over upstream GETs, when `READ_BREAKER_ENABLED`.
  let readBreaker: BreakerGuard?
  /// Idempotency keys of /addEvent (this instance's memory, or Redis); nil
  /// when `IDEMPOTENCY_MAX_KEYS` is 0.
  let keys: (any KeyStore)?
  /// `MAX_BUFFERED_BYTES`: what requests hold here, and (`replyBytes`) the
  /// replies the HTTP server has not yet written.
  var budget: MemoryBudget
  /// Reads waiting for an answer, by deadline.
  let deadlines: RequestDeadlines
  /// The live view: its viewers and the last breaker transitions.
  let status: StatusBoard
  /// From the first moment of a drain: `/ready` says 503.
  var isDraining = false
  /// Client requests being served (`MAX_INFLIGHT`).
  @exclusivity(unchecked) var inflight = 0
  /// Set once the server exists; it outlives the context's use.
  unowned(unsafe) var server: HTTPServer?
  var replyBytes: Int { server?.replyBytesInFlight ?? 0 }

  /// `transport`: how upstream requests go out (the pooled `HTTPClient`,
  /// or an in-memory one in tests).
  init(
    clock: any Scheduler, config: ServiceConfig, transport: any HTTPTransport,
    tlsHandshakes: (() -> HTTPClient.Handshakes)? = nil,
    connectionUse: @escaping () -> ConnectionUse = { ConnectionUse() },
    keyStore: (any KeyStore)? = nil, logger: Logger, metrics: ServiceMetrics
  ) {
    self.connectionUse = connectionUse
    self.clock = clock
    self.config = config
    self.logger = logger
    self.metrics = metrics
    self.tlsHandshakes = tlsHandshakes
    upstream = UpstreamClient(
      transport: transport, clock: clock, basePath: config.apiBase.basePath,
      headers: config.upstreamHeaders,
      policy: FetchPolicy(
        backoff: config.retry, budget: config.retryBudget, hedging: config.hedging,
        attemptTimeoutMs: config.upstreamTimeoutMs),
      caching: CacheSettings(
        staleIfErrorMs: config.staleIfErrorMs, ttlMs: config.cacheTTLMs,
        maxBytes: config.cacheMaxBytes),
      coalesce: config.coalesceGets, metrics: metrics, logger: logger)
    breaker = BreakerGuard(settings: config.breaker, clock: clock, logger: logger, metrics: metrics)
    // A read probe may take its whole deadline (retries, a fan-out).
    var readSettings = config.breaker
    readSettings.probeTimeoutMs = max(readSettings.probeTimeoutMs, config.requestTimeoutMs)
    readBreaker =
      config.readBreakerEnabled
      ? BreakerGuard(.read, settings: readSettings, clock: clock, logger: logger, metrics: metrics)
      : nil
    budget = MemoryBudget(limit: config.maxBufferedBytes)
    deadlines = RequestDeadlines(clock: clock)
    let status = StatusBoard(clock: clock)
    self.status = status
    breaker.onTransition = { [unowned status] in status.recorded($0, breaker: .write) }
    readBreaker?.onTransition = { [unowned status] in status.recorded($0, breaker: .read) }
    // `keyStore`: one made by the caller (Redis needs the loop itself).
    keys =
      config.idempotencyMaxKeys == 0
      ? nil
      : keyStore
        ?? MemoryKeyStore(
          ttlMs: config.idempotencyTTLMs, capacity: config.idempotencyMaxKeys, clock: clock)
    status.snapshot = { [unowned self] in StatusSnapshot.json(of: self) }
  }
}
