import Libevent
import Logging
import Resilience

/// What every handler needs, created once per service.
final class ServiceContext {
  let loop: EventLoop
  let config: ServiceConfig
  let logger: Logger
  let metrics: ServiceMetrics
  let upstream: UpstreamClient
  let breaker: BreakerGuard
  /// Idempotency keys of /addEvent; nil when `IDEMPOTENCY_MAX_KEYS` is 0.
  var idempotency: IdempotencyStore?
  /// `MAX_BUFFERED_BYTES`: what requests hold here, and (`replyBytes`) the
  /// replies the HTTP server has not yet written.
  var budget: MemoryBudget
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
    upstream = UpstreamClient(
      loop: loop, address: upstreamAddress,
      tls: upstreamAddress.usesTLS ? try TLSClientContext(caFile: config.upstreamCAFile) : nil,
      resolvConf: config.resolvConf, maxConnections: config.upstreamMaxConnections,
      timeoutMs: config.upstreamTimeoutMs, maxBodyBytes: config.maxUpstreamBodyBytes,
      headers: config.upstreamHeaders, retry: config.retry, budget: config.retryBudget,
      hedging: config.hedging,
      coalesce: config.coalesceGets,
      metrics: metrics, logger: logger)
    breaker = BreakerGuard(settings: config.breaker, clock: loop, logger: logger, metrics: metrics)
    budget = MemoryBudget(limit: config.maxBufferedBytes)
    idempotency =
      config.idempotencyMaxKeys > 0
      ? IdempotencyStore(ttlMs: config.idempotencyTTLMs, capacity: config.idempotencyMaxKeys) : nil
  }
}
