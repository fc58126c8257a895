import Libevent
import Logging
import Resilience
import Settings
import Telemetry
import UpstreamAccess

/// What every handler needs, created once per service.
final class ServiceContext {
  let loop: EventLoop
  let config: ServiceConfig
  let logger: Logger
  let metrics: ServiceMetrics
  let upstream: UpstreamClient
  /// The pooled connections `upstream` sends over.
  let http: HTTPClient
  let breaker: BreakerGuard
  /// Over upstream GETs, when `READ_BREAKER_ENABLED`.
  let readBreaker: BreakerGuard?
  /// Idempotency keys of /addEvent; nil when `IDEMPOTENCY_MAX_KEYS` is 0.
  var idempotency: IdempotencyStore?
  /// `MAX_BUFFERED_BYTES`: what requests hold here, and (`replyBytes`) the
  /// replies the HTTP server has not yet written.
  var budget: MemoryBudget
  /// Reads waiting for an answer, by deadline.
  let deadlines: RequestDeadlines
  /// Client requests being served (`MAX_INFLIGHT`).
  @exclusivity(unchecked) var inflight = 0
  /// Set once the server exists; it outlives the context's use.
  unowned(unsafe) var server: HTTPServer?
  var replyBytes: Int { server?.replyBytesInFlight ?? 0 }

  init(
    loop: EventLoop, config: ServiceConfig, upstreamAddress: UpstreamAddress, logger: Logger,
    metrics: ServiceMetrics
  ) throws {
    self.loop = loop
    self.config = config
    self.logger = logger
    self.metrics = metrics
    http = HTTPClient(
      loop: loop, host: upstreamAddress.host, port: upstreamAddress.port,
      hostHeader: upstreamAddress.hostHeader,
      tls: upstreamAddress.usesTLS ? try TLSClientContext(caFile: config.upstreamCAFile) : nil,
      resolvConf: config.resolvConf, maxConnections: config.upstreamMaxConnections,
      timeoutMs: config.upstreamTimeoutMs, maxBodyBytes: config.maxUpstreamBodyBytes)
    upstream = UpstreamClient(
      transport: http, clock: loop, basePath: upstreamAddress.basePath,
      headers: config.upstreamHeaders,
      policy: FetchPolicy(
        backoff: config.retry, budget: config.retryBudget, hedging: config.hedging,
        attemptTimeoutMs: config.upstreamTimeoutMs),
      caching: CacheSettings(
        staleIfErrorMs: config.staleIfErrorMs, ttlMs: config.cacheTTLMs,
        maxBytes: config.cacheMaxBytes),
      coalesce: config.coalesceGets, metrics: metrics, logger: logger)
    breaker = BreakerGuard(settings: config.breaker, clock: loop, logger: logger, metrics: metrics)
    // A read probe may take its whole deadline (retries, a fan-out).
    var readSettings = config.breaker
    readSettings.probeTimeoutMs = max(readSettings.probeTimeoutMs, config.requestTimeoutMs)
    readBreaker =
      config.readBreakerEnabled
      ? BreakerGuard(.read, settings: readSettings, clock: loop, logger: logger, metrics: metrics)
      : nil
    budget = MemoryBudget(limit: config.maxBufferedBytes)
    deadlines = RequestDeadlines(clock: loop)
    idempotency =
      config.idempotencyMaxKeys > 0
      ? IdempotencyStore(ttlMs: config.idempotencyTTLMs, capacity: config.idempotencyMaxKeys) : nil
  }
}
