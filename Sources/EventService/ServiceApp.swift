import Libevent
import Logging
import Settings
import Telemetry

/// The event service on one loop: its evhttp server, its upstream client
/// and its breaker. It reaches the event API over HTTP only.
public final class ServiceApp {
  private let context: ServiceContext
  private let loop: EventLoop
  /// The pooled connections the upstream client sends over.
  private let http: HTTPClient
  private let dispatcher: RequestDispatcher
  private var server: HTTPServer!
  private var drainDeadline: LoopTimer?
  /// The `DRAIN_DELAY_MS` timer, while the service is a lame duck.
  private var lameDuck: LoopTimer?
  private var isShuttingDown = false
  private let memory: MemoryRelease

  /// Called after a burst, once the bytes it held are given back: the
  /// allocator's chance to return memory to the system (event-service sets
  /// mimalloc's `mi_collect`; by default nothing).
  public var releaseMemory: () -> Void {
    get { memory.release }
    set { memory.release = newValue }
  }

  public init(loop: EventLoop, config: ServiceConfig, logger: Logger) throws {
    let upstreamAddress = config.apiBase
    self.loop = loop
    let http = HTTPClient(
      loop: loop, host: upstreamAddress.host, port: upstreamAddress.port,
      hostHeader: upstreamAddress.hostHeader,
      tls: upstreamAddress.usesTLS ? try TLSClientContext(caFile: config.upstreamCAFile) : nil,
      resolvConf: config.resolvConf, maxConnections: config.upstreamMaxConnections,
      timeoutMs: config.upstreamTimeoutMs, maxBodyBytes: config.maxUpstreamBodyBytes)
    self.http = http
    let metrics = ServiceMetrics(version: ServiceVersion.current)
    context = ServiceContext(
      clock: loop, config: config, transport: http,
      tlsHandshakes: upstreamAddress.usesTLS ? { http.handshakes } : nil,
      connectionUse: { http.connectionUse },
      keyStore: KeyStoreFactory.make(loop: loop, config: config, logger: logger, metrics: metrics),
      logger: logger, metrics: metrics)
    dispatcher = RequestDispatcher(context: context)
    memory = MemoryRelease(context: context)
    // MAX_BODY_BYTES is libevent's limit too: nothing more is ever
    // buffered. A body announced over it is refused with the JSON 413
    // before libevent reads the head; one that grows past it unannounced
    // (chunked) meets libevent's own 413.
    let maxBody = config.maxBodyBytes
    let limits = HTTPServerLimits(
      maxBodyBytes: maxBody, maxHeadersBytes: 16 << 10,
      headerTimeoutMs: config.clientHeaderTimeoutMs, bodyTimeoutMs: config.clientBodyTimeoutMs,
      idleTimeoutMs: 20_000
    ) { refusal in
      let error: ServiceError =
        switch refusal {
        case .timeout: .requestTimeout
        case .tooLarge(let announced): .payloadTooLarge(size: announced, limit: maxBody)
        case .badFraming(let problem): .badRequest(problem)
        }
      return HTTPServerLimits.closingReply(
        status: refusal.status, reason: refusal.reason, json: error.body)
    }
    // The server's handler holds the app: both live while the server is
    // registered with the loop, and `close()` breaks the cycle.
    server = try HTTPServer(loop: loop, host: config.host, port: config.port, limits: limits) {
      [self] request in
      self.dispatcher.dispatch(request)
    }
    context.server = server
    var lastWarningMs: Int64?
    server.onAcceptPaused = { [context] error in
      // At most one line a second while descriptors stay exhausted.
      let now = context.clock.nowMs
      if let last = lastWarningMs, now - last < 1_000 { return }
      lastWarningMs = now
      context.logger.warning(
        "accept failed; pausing new connections for 100 ms",
        metadata: ["errno": .stringConvertible(error)])
    }
    logger.info(
      "event service listening",
      metadata: [
        "address": .string("\(config.host):\(server.port)"),
        "upstream": .string(upstreamAddress.description),
      ])
  }

  public var port: Int { server.port }

  /// Graceful stop: `/ready` says 503 at once; after `DRAIN_DELAY_MS` (the
  /// lame duck, everything else served as usual) refuse new connections, let
  /// requests in flight finish (at most `SHUTDOWN_GRACE_MS`), close upstream
  /// connections, then `done`.
  public func shutdown(_ done: @escaping () -> Void) {
    guard !isShuttingDown else { return }
    isShuttingDown = true
    context.isDraining = true
    let delay = context.config.drainDelayMs
    guard delay > 0 else {
      stopServing(done)
      return
    }
    context.logger.info(
      "draining: /ready answers 503; the listener closes after DRAIN_DELAY_MS",
      metadata: ["drain_delay_ms": .stringConvertible(delay)])
    lameDuck = loop.schedule(afterMs: delay) { [weak self] in self?.stopServing(done) }
  }

  private func stopServing(_ done: @escaping () -> Void) {
    context.logger.info(
      "shutting down", metadata: ["in_flight": .stringConvertible(server.inFlight)])
    var finished = false
    let finish = { [context, memory, http] in
      guard !finished else { return }
      finished = true
      memory.stop()
      context.breaker.stop()
      context.readBreaker?.stop()
      context.deadlines.stop()
      http.shutdown()
      // The keys' last outcomes reach Redis before the loop stops.
      let stopped = {
        context.logger.info("stopped")
        done()
      }
      if let keys = context.keys { keys.flush(stopped) } else { stopped() }
    }
    // Streams never end by themselves: they end now, each with its last chunk.
    context.status.endAll()
    drainDeadline = loop.schedule(afterMs: context.config.shutdownGraceMs) { [context] in
      context.logger.warning("drain deadline reached; stopping with requests in flight")
      finish()
    }
    server.stopAccepting { [weak self] in
      self?.drainDeadline?.cancel()
      finish()
    }
  }
}
