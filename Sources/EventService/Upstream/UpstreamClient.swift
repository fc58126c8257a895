import Libevent
import Logging
import MiniJSON
import Resilience

/// The service's only way to reach the event API: HTTP through one pooled
/// `HTTPClient`. GETs are retried with full-jitter backoff on loop timers
/// and, when `coalesce` is on, identical GETs in flight share one request.
/// POSTs are sent once.
public final class UpstreamClient {
  private let loop: EventLoop
  private let http: HTTPClient
  private let retry: RetryBackoff
  private let coalesce: Bool
  private let metrics: ServiceMetrics
  /// `UPSTREAM_HEADERS`, sent on every request.
  private let configuredHeaders: [(String, String)]
  /// Each route's path under `API_BASE`'s base path, built once.
  private let paths: UpstreamPaths
  private let logger: Logger
  private var random: any RandomNumberGenerator
  private var shared: [String: UpstreamFetch] = [:]
  private var budget: RetryBudget
  /// Span ids of upstream requests.
  private var spans = TraceIDGenerator()
  private let hedging: HedgeSettings
  /// Event fetch latencies in microseconds: the top of a fan-out's
  /// latencies is packed tight, and whole milliseconds put a tenth of the
  /// fetches in the p95's millisecond, all of which the hedge timer, set at
  /// its start, would call late.
  private var eventLatency = LatencyTracker()
  private var hedgeBudget: HedgeBudget

  public init(
    loop: EventLoop, address: UpstreamAddress, tls: TLSClientContext? = nil,
    resolvConf: String = "/etc/resolv.conf", maxConnections: Int, timeoutMs: Int64,
    maxBodyBytes: Int = 8 << 20, headers: [(String, String)] = [], retry: RetryBackoff,
    budget: RetryBudget.Settings,
    hedging: HedgeSettings = HedgeSettings(),
    coalesce: Bool, metrics: ServiceMetrics, logger: Logger = Logger(label: "upstream"),
    random: any RandomNumberGenerator = SystemRandomNumberGenerator()
  ) {
    self.loop = loop
    http = HTTPClient(
      loop: loop, host: address.host, port: address.port, hostHeader: address.hostHeader,
      tls: tls, resolvConf: resolvConf, maxConnections: maxConnections,
      timeoutMs: timeoutMs, maxBodyBytes: maxBodyBytes)
    self.retry = retry
    self.budget = RetryBudget(settings: budget)
    self.hedging = hedging
    hedgeBudget = HedgeBudget(
      percent: hedging.budgetPercent, windowMs: HedgeSettings.budgetWindowMs)
    self.coalesce = coalesce
    self.metrics = metrics
    paths = UpstreamPaths(basePath: address.basePath)
    configuredHeaders = headers
    self.logger = logger
    self.random = random
  }

  public func shutdown() { http.shutdown() }

  /// TLS handshakes of new upstream connections: full, and resumed.
  public var handshakes: HTTPClient.Handshakes { http.handshakes }

  public func getUsers(for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void)
    -> UpstreamHandle
  {
    get(.getUsers, path: paths.getUsers, caller, completion)
  }

  public func getEvents(
    for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getEvents, path: paths.getEvents, caller, completion)
  }

  public func getUser(
    id: String, for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getUserById, path: paths.getUserById + Self.encodeSegment(id), caller, completion)
  }

  public func getEvent(
    id: String, for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getEventById, path: paths.getEventById + Self.encodeSegment(id), caller, completion)
  }

  /// Sends the event once, on a fresh connection (never a keep-alive one the
  /// upstream may have closed: a failure it never saw must not count).
  @discardableResult
  public func addEvent(
    _ body: [UInt8], for caller: UpstreamCaller,
    _ completion: @escaping (UpstreamResult) -> Void
  ) -> ClientCall {
    let request = ClientRequest(
      method: .post, path: paths.addEvent,
      headers: [("Content-Type", "application/json")] + headers(for: caller),
      body: body, idempotent: false)
    return http.send(request) { [self] result in
      let classified = UpstreamResult(result, route: .addEvent)
      self.record(.addEvent, classified)
      completion(classified)
    }
  }

  // MARK: - GET with retries and coalescing

  private func get(
    _ route: UpstreamRoute, path: String, _ caller: UpstreamCaller,
    _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    if coalesce, let fetch = shared[path] { return fetch.join(completion) }
    let fetch = UpstreamFetch(key: path, caller: caller) { [weak self] fetch in
      self?.forget(fetch)
    }
    if coalesce { shared[path] = fetch }
    let handle = fetch.join(completion)
    attempt(fetch, route: route)
    return handle
  }

  /// The retry budget now (for /health).
  public var retryBudget: RetryBudget.State { budget.state(now: loop.nowMs) }

  private func attempt(_ fetch: UpstreamFetch, route: UpstreamRoute) {
    fetch.retryWork = nil
    if fetch.attempt == 0 {
      budget.recordFirstAttempt(now: loop.nowMs)
      if hedging.enabled && route == .getEventById { armHedge(fetch) }
    }
    // The closures hold the fetch until its call or retry ends or is cancelled.
    fetch.call = send(fetch, route: route) { [weak self] fetch, classified in
      fetch.call = nil
      self?.attemptEnded(fetch, route: route, classified, hedge: false)
    }
  }

  /// One upstream GET for `fetch`, classified and counted.
  private func send(
    _ fetch: UpstreamFetch, route: UpstreamRoute,
    _ done: @escaping (UpstreamFetch, UpstreamResult) -> Void
  ) -> ClientCall {
    let request = ClientRequest(
      method: .get, path: fetch.key, headers: headers(for: fetch.caller))
    return http.send(request) { [weak self, fetch] result in
      guard let self else { return }
      let classified = UpstreamResult(result, route: route)
      self.record(route, classified)
      done(fetch, classified)
    }
  }

  /// An attempt (or its hedge) ended. A success or an answer wins at once
  /// and cancels the other; a failure waits while the other may still
  /// succeed, then is retried (budget allowing) or delivered.
  private func attemptEnded(
    _ fetch: UpstreamFetch, route: UpstreamRoute, _ classified: UpstreamResult, hedge: Bool
  ) {
    if case .failure(let failure) = classified {
      if (hedge ? fetch.call : fetch.hedgeCall) != nil {
        fetch.heldFailure = classified
        return
      }
      fetch.stopHedging()
      if failure.isRetryable, let delay = retry.delayMs(attempt: fetch.attempt, using: &random),
        spendRetry()
      {
        fetch.attempt += 1
        fetch.retryWork = loop.schedule(afterMs: delay) { [weak self, fetch] in
          self?.attempt(fetch, route: route)
        }
        return
      }
    } else {
      if hedging.enabled && route == .getEventById {
        eventLatency.record(loop.nowUs - fetch.startedUs)
      }
      if hedge {
        fetch.call?.cancel()
        fetch.call = nil
      }
      fetch.stopHedging()
    }
    fetch.heldFailure = nil
    forget(fetch)
    fetch.deliver(classified, loop: loop)
  }

  /// Sends a hedge if the fetch is still waiting after the hedge delay: the
  /// fixed HEDGE_AFTER_MS, or the running p95 (not before 100 fetches have
  /// been timed), and only while the hedge budget allows.
  private func armHedge(_ fetch: UpstreamFetch) {
    fetch.startedUs = loop.nowUs
    hedgeBudget.recordFetch(now: fetch.startedUs / 1_000)
    let delay =
      hedging.afterMs > 0
      ? hedging.afterMs
      : eventLatency.p95.map { max(HedgeSettings.minimumAfterMs, ($0 + 999) / 1_000) }
    guard let delay else { return }
    fetch.hedgeTimer = loop.schedule(afterMs: delay) { [weak self, fetch] in
      guard let self, fetch.call != nil, fetch.attempt == 0 else { return }
      fetch.hedgeTimer = nil
      let allowed = self.hedgeBudget.allowHedge(now: self.loop.nowMs)
      self.metrics.recordHedge(sent: allowed)
      guard allowed else { return }
      fetch.hedgeCall = self.send(fetch, route: .getEventById) { [weak self] fetch, classified in
        fetch.hedgeCall = nil
        self?.attemptEnded(fetch, route: .getEventById, classified, hedge: true)
      }
    }
  }

  /// The request id and trace context, and the configured headers.
  private func headers(for caller: UpstreamCaller) -> [(String, String)] {
    let own = caller.headers(span: spans.next())
    return configuredHeaders.isEmpty ? own : own + configuredHeaders
  }

  /// Counts an attempt's outcome. Local trouble (not the upstream's), a name
  /// that does not resolve and a failed TLS handshake are logged too, each
  /// named as such, with the reason.
  private func record(_ route: UpstreamRoute, _ classified: UpstreamResult) {
    let outcome = classified.outcome
    metrics.recordUpstream(route: route, outcome: outcome)
    switch classified {
    case .failure(.transport(.local)):
      logger.warning(
        "upstream connection not opened: out of file descriptors or memory here",
        metadata: ["cause": "local_error", "route": .string(route.rawValue)])
    case .failure(.transport(.dns(let reason))):
      logger.warning(
        "upstream name did not resolve",
        metadata: [
          "cause": "dns_error", "reason": .string(reason), "route": .string(route.rawValue),
        ])
    case .failure(.transport(.tls(let reason))):
      logger.warning(
        "upstream TLS handshake failed",
        metadata: [
          "cause": "tls_error", "reason": .string(reason), "route": .string(route.rawValue),
        ])
    default:
      break
    }
  }

  /// Asks the budget for one retry, and counts the answer.
  private func spendRetry() -> Bool {
    let allowed = budget.allowRetry(now: loop.nowMs)
    metrics.recordRetry(allowed: allowed)
    return allowed
  }

  private func forget(_ fetch: UpstreamFetch) {
    if coalesce && shared[fetch.key] === fetch { shared[fetch.key] = nil }
  }

  /// Percent-encodes everything but unreserved characters (RFC 3986), so an
  /// id is always exactly one path segment. `.` and `..` are unreserved and
  /// would still be dot-segments: callers never pass them (see
  /// `UserIDValidation`, `EventsByUserHandler`).
  static func encodeSegment(_ text: String) -> String {
    // Ids are nearly always unreserved already: the same string back, with
    // no byte-by-byte rebuild.
    if TokenCharacters.unreserved.matches(text, length: 0...Int.max) { return text }
    var out = ""
    for byte in text.utf8 {
      if TokenCharacters.unreserved.contains(byte) {
        out.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        let hex = String(byte, radix: 16, uppercase: true)
        out += "%" + (hex.count == 1 ? "0" + hex : hex)
      }
    }
    return out
  }
}

/// The upstream routes' paths under a base path (`/v1/getUsers`).
struct UpstreamPaths {
  let getUsers: String
  let getEvents: String
  let getUserById: String
  let getEventById: String
  let addEvent: String

  init(basePath: String) {
    getUsers = basePath + "/getUsers"
    getEvents = basePath + "/getEvents"
    getUserById = basePath + "/getUserById/"
    getEventById = basePath + "/getEventById/"
    addEvent = basePath + "/addEvent"
  }
}
