import Libevent
import Logging
import MiniJSON
import Resilience
import Telemetry

/// The service's only way to reach the event API: HTTP through one
/// transport (the pooled `HTTPClient`). Each GET is a `FetchMachine` —
/// retries with full-jitter backoff on timers, the retry budget, the hedge,
/// the request's deadline — and, when `coalesce` is on, identical GETs in
/// flight share one fetch. POSTs are sent once.
public final class UpstreamClient {
  private let transport: any HTTPTransport
  private let clock: any Scheduler
  private let coalesce: Bool
  private let metrics: ServiceMetrics
  /// `UPSTREAM_HEADERS`, sent on every request.
  private let configuredHeaders: [(String, String)]
  /// Each route's path under `API_BASE`'s base path, built once.
  private let paths: UpstreamPaths
  private let logger: Logger
  @exclusivity(unchecked) private var shared: [String: UpstreamFetch] = [:]
  /// What all fetches share: backoff, budgets, latencies, jitter.
  @exclusivity(unchecked) private var policy: FetchPolicy
  /// Span ids of upstream requests.
  @exclusivity(unchecked) private var spans = TraceIDGenerator()
  /// Kept answers by path; nil when `STALE_IF_ERROR_MS` and `CACHE_TTL_MS`
  /// are both 0.
  private var cache: ResponseCache<UpstreamResponse>?
  private let caching: CacheSettings

  public init(
    transport: any HTTPTransport, clock: any Scheduler, basePath: String = "",
    headers: [(String, String)] = [], policy: FetchPolicy, caching: CacheSettings = CacheSettings(),
    coalesce: Bool, metrics: ServiceMetrics, logger: Logger = Logger(label: "upstream")
  ) {
    self.transport = transport
    self.clock = clock
    self.policy = policy
    self.caching = caching
    cache = caching.makeCache(of: UpstreamResponse.self)
    self.coalesce = coalesce
    self.metrics = metrics
    paths = UpstreamPaths(basePath: basePath)
    configuredHeaders = headers
    self.logger = logger
  }

  public func getUsers(for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void)
    -> UpstreamHandle
  {
    get(.getUsers, path: paths.path(.getUsers), caller, completion)
  }

  public func getEvents(
    for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getEvents, path: paths.path(.getEvents), caller, completion)
  }

  public func getUser(
    id: String, for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getUserById, path: paths.path(.getUserById, id: id), caller, completion)
  }

  public func getEvent(
    id: String, for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getEventById, path: paths.path(.getEventById, id: id), caller, completion)
  }

  /// Sends the event once, on a fresh connection (never a keep-alive one the
  /// upstream may have closed: a failure it never saw must not count), with
  /// the smaller of the attempt timeout and what is left of the request's
  /// deadline.
  @discardableResult
  public func addEvent(
    _ body: [UInt8], for caller: UpstreamCaller,
    _ completion: @escaping (UpstreamResult) -> Void
  ) -> any TransportCall {
    var timeoutMs = policy.attemptTimeoutMs
    if let deadline = caller.deadlineUs {
      timeoutMs = min(timeoutMs, max(1, (deadline - clock.nowUs + 999) / 1_000))
    }
    let request = ClientRequest(
      method: .post, path: paths.addEvent,
      headers: [("Content-Type", "application/json")] + headers(for: caller),
      body: body, idempotent: false, timeoutMs: timeoutMs)
    let observer = caller.observer
    let sentUs = clock.nowUs
    return transport.start(request) { [self] result in
      let classified = UpstreamResult(result, route: .addEvent)
      self.record(.addEvent, classified, for: caller, sentUs: sentUs)
      if case .failure(let failure) = classified { observer?.attemptFailed(failure.cause) }
      completion(classified)
    }
  }

  /// The retry budget now (for /health).
  public var retryBudget: RetryBudget.State { policy.budget.state(now: clock.nowMs) }

  /// The hedge budget now: event fetches, hedges, hedges allowed.
  public var hedgeBudget: RetryBudget.State { policy.hedgeBudget.state(now: clock.nowMs) }

  /// How late an event fetch must be to be hedged now, in milliseconds;
  /// nil while hedging is off or until enough fetches have been timed.
  public var hedgeDelayMs: Int64? { policy.hedging.enabled ? policy.hedgeDelayMs : nil }

  // MARK: - GET: a fetch machine per path

  private func get(
    _ route: UpstreamRoute, path: String, _ caller: UpstreamCaller,
    _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    if cache != nil || caller.breakerOpenForMs != nil, let answer = keptAnswer(route, path, caller)
    {
      completion(answer)
      return UpstreamHandle(fetch: nil, waiter: 0)
    }
    if coalesce, let fetch = shared[path] {
      fetch.machine.extendDeadline(to: caller.deadlineUs)
      return fetch.join(completion, observer: caller.observer)
    }
    let machine = FetchMachine(
      hedged: policy.hedging.enabled && route == .getEventById, deadlineUs: caller.deadlineUs)
    // The observer is its waiter's: the fetch may outlive this caller.
    var maker = caller
    maker.observer = nil
    let fetch = UpstreamFetch(key: path, route: route, caller: maker, machine: machine) {
      [weak self] fetch in self?.abandoned(fetch)
    }
    if coalesce { shared[path] = fetch }
    let handle = fetch.join(completion, observer: caller.observer)
    step(fetch, nil) { $0.start(nowUs: $2, policy: &$1) }
    return handle
  }

  /// Hands the machine one event and carries out its actions. `result` is
  /// the attempt result the event reports, if any.
  private func step(
    _ fetch: UpstreamFetch, _ result: UpstreamResult?,
    _ event: (inout FetchMachine, inout FetchPolicy, Int64) -> FetchActions
  ) {
    carryOut(event(&fetch.machine, &policy, clock.nowUs), fetch, result)
  }

  private func carryOut(_ actions: FetchActions, _ fetch: UpstreamFetch, _ result: UpstreamResult?)
  {
    fetch.isStepping = true
    actions.forEach { perform($0, fetch, result) }
    fetch.isStepping = false
    if let (attempt, result) = fetch.endedAtOnce {
      fetch.endedAtOnce = nil
      ended(fetch, attempt, result)
    }
  }

  private func ended(_ fetch: UpstreamFetch, _ attempt: FetchAttempt, _ result: UpstreamResult) {
    let reported: AttemptResult
    if case .failure(let failure) = result {
      fetch.lastFailure = failure
      reported = .failed(retryable: failure.isRetryable)
    } else {
      reported = .answered
    }
    // An answer to a fetch without a hedge needs no time: the clock is not read.
    let nowUs = reported == .answered && !fetch.machine.hedged ? 0 : clock.nowUs
    let actions = fetch.machine.attemptEnded(attempt, reported, nowUs: nowUs, policy: &policy)
    carryOut(actions, fetch, result)
  }

  private func perform(_ action: FetchAction, _ fetch: UpstreamFetch, _ result: UpstreamResult?) {
    switch action {
    case .send(let attempt, let timeoutMs):
      if attempt == .hedge { metrics.recordHedge(sent: true) }
      send(attempt, of: fetch, timeoutMs: timeoutMs)
    case .cancel(.primary):
      fetch.primary?.cancel()
      fetch.primary = nil
    case .cancel(.hedge):
      fetch.hedge?.cancel()
      fetch.hedge = nil
    case .armRetry(let delay):
      metrics.recordRetry(allowed: true)
      if fetch.retryTimer == nil {
        fetch.retryTimer = clock.makeTimer { [weak self, fetch] in
          self?.step(fetch, nil) { $0.retryDue(nowUs: $2, policy: &$1) }
        }
      }
      fetch.retryTimer?.arm(afterMs: delay)
    case .cancelRetry: fetch.retryTimer?.cancel()
    case .armHedge(let delay):
      if fetch.hedgeTimer == nil {
        fetch.hedgeTimer = clock.makeTimer { [weak self, fetch] in
          self?.step(fetch, nil) { $0.hedgeDue(nowUs: $2, policy: &$1) }
        }
      }
      fetch.hedgeTimer?.arm(afterMs: delay)
    case .cancelHedge: fetch.hedgeTimer?.cancel()
    case .hedgeRefused: metrics.recordHedge(sent: false)
    case .deliver(let end):
      forget(fetch)
      fetch.releaseTimers()
      var delivered: UpstreamResult
      switch end {
      case .answer: delivered = result ?? .failure(fetch.lastFailure ?? .deadline)
      case .failed(.lastAttempt): delivered = .failure(fetch.lastFailure ?? .deadline)
      case .failed(.budgetRefused):
        metrics.recordRetry(allowed: false)
        fetch.attemptFailed(.budgetRefused)
        delivered = .failure(fetch.lastFailure ?? .deadline)
      case .failed(.deadline):
        fetch.attemptFailed(.deadline)
        delivered = .failure(.deadline)
      }
      if cache != nil { keep(&delivered, fetch) }
      fetch.deliver(delivered, clock: clock)
    }
  }

  /// One upstream GET for `fetch`, classified and counted.
  private func send(_ attempt: FetchAttempt, of fetch: UpstreamFetch, timeoutMs: Int64) {
    let request = ClientRequest(
      method: .get, path: fetch.key, headers: headers(for: fetch.caller), timeoutMs: timeoutMs)
    let sentUs = clock.nowUs
    let call = transport.start(request) { [weak self, fetch] result in
      guard let self else { return }
      let classified = UpstreamResult(result, route: fetch.route)
      self.record(fetch.route, classified, for: fetch.caller, sentUs: sentUs)
      if case .failure(let failure) = classified { fetch.attemptFailed(failure.cause) }
      if attempt == .primary { fetch.primary = nil } else { fetch.hedge = nil }
      if fetch.isStepping {
        fetch.endedAtOnce = (attempt, classified)
      } else {
        self.ended(fetch, attempt, classified)
      }
    }
    // A call that already ended is not in flight.
    guard fetch.endedAtOnce?.attempt != attempt else { return }
    if attempt == .primary { fetch.primary = call } else { fetch.hedge = call }
  }

  // MARK: - Kept answers

  /// What the cache answers before any upstream call: a kept answer younger
  /// than `CACHE_TTL_MS`; while the read breaker is OPEN, one younger than
  /// `STALE_IF_ERROR_MS`, or the breaker's refusal. Nil: ask the upstream.
  private func keptAnswer(
    _ route: UpstreamRoute, _ path: String, _ caller: UpstreamCaller
  ) -> UpstreamResult? {
    if let retryAfterMs = caller.breakerOpenForMs {
      caller.observer?.attemptFailed(.breakerOpen)
      guard let stale = kept(path, route, maxAgeMs: caching.staleIfErrorMs, stale: true) else {
        return .failure(.breakerOpen(retryAfterMs: retryAfterMs))
      }
      return .success(stale)
    }
    guard caching.ttlMs > 0, let fresh = kept(path, route, maxAgeMs: caching.ttlMs, stale: false)
    else { return nil }
    return .success(fresh)
  }

  /// A fresh 2xx is kept; a failure is replaced by a kept answer younger
  /// than `STALE_IF_ERROR_MS`, if there is one.
  private func keep(_ result: inout UpstreamResult, _ fetch: UpstreamFetch) {
    switch result {
    case .success(var response):
      response.cacheUse = .miss
      cache?.store(fetch.key, response, bytes: response.body.count, now: clock.nowMs)
      metrics.recordCache(route: fetch.route, .miss)
      result = .success(response)
    case .failure(let failure) where caching.staleIfErrorMs > 0 && !failure.isLocal:
      if let stale = kept(fetch.key, fetch.route, maxAgeMs: caching.staleIfErrorMs, stale: true) {
        result = .success(stale)
      }
    case .refused, .failure: break
    }
  }

  /// A kept answer for a part of a read whose deadline passed, younger
  /// than `STALE_IF_ERROR_MS`; nil when there is none.
  package func staleAnswer(_ route: UpstreamRoute, id: String = "") -> UpstreamResponse? {
    guard caching.staleIfErrorMs > 0, cache != nil else { return nil }
    return kept(paths.path(route, id: id), route, maxAgeMs: caching.staleIfErrorMs, stale: true)
  }

  /// The kept answer under `path` if it is at most `maxAgeMs` old, marked
  /// and counted as a fresh or a stale hit.
  private func kept(_ path: String, _ route: UpstreamRoute, maxAgeMs: Int64, stale: Bool)
    -> UpstreamResponse?
  {
    guard let hit = cache?.lookup(path, maxAgeMs: maxAgeMs, now: clock.nowMs) else { return nil }
    var response = hit.value
    let use: CacheUse = stale ? .stale(ageMs: hit.ageMs) : .hit(ageMs: hit.ageMs)
    response.cacheUse = use
    metrics.recordCache(route: route, use)
    return response
  }

  /// The last waiter left: the machine calls off what is out.
  private func abandoned(_ fetch: UpstreamFetch) {
    forget(fetch)
    step(fetch, nil) { machine, _, _ in machine.abandoned() }
    fetch.releaseTimers()
  }

  /// The request id and trace context, and the configured headers.
  private func headers(for caller: UpstreamCaller) -> [(String, String)] {
    let own = caller.headers(span: spans.next())
    return configuredHeaders.isEmpty ? own : own + configuredHeaders
  }

  /// Counts an attempt's outcome and latency. Local trouble (not the upstream's), a name
  /// that does not resolve and a failed TLS handshake are logged too, each
  /// named as such, with the reason; every other failed attempt at debug.
  private func record(
    _ route: UpstreamRoute, _ classified: UpstreamResult, for caller: UpstreamCaller,
    sentUs: Int64
  ) {
    let outcome = classified.outcome
    metrics.recordUpstream(route: route, outcome: outcome, microseconds: clock.nowUs - sentUs)
    switch classified {
    case .failure(.transport(.local)):
      logger.warning(
        "upstream connection not opened: out of file descriptors or memory here",
        metadata: [
          "cause": "local_error", "route": .string(route.rawValue),
          "request_id": .string(caller.requestID),
        ])
    case .failure(.transport(.dns(let reason))):
      logger.warning(
        "upstream name did not resolve",
        metadata: [
          "cause": "dns_error", "reason": .string(reason), "route": .string(route.rawValue),
          "request_id": .string(caller.requestID),
        ])
    case .failure(.transport(.tls(let reason))):
      logger.warning(
        "upstream TLS handshake failed",
        metadata: [
          "cause": "tls_error", "reason": .string(reason), "route": .string(route.rawValue),
          "request_id": .string(caller.requestID),
        ])
    case .failure(let failure):
      logger.debug(
        "upstream attempt failed",
        metadata: [
          "request_id": .string(caller.requestID), "route": .string(route.rawValue),
          "cause": .string(failure.cause.rawValue), "reason": .string(failure.description),
        ])
    default:
      break
    }
  }

  private func forget(_ fetch: UpstreamFetch) {
    if coalesce && shared[fetch.key] === fetch { shared[fetch.key] = nil }
  }

  /// Percent-encodes everything but unreserved characters (RFC 3986), so an
  /// id is always exactly one path segment. `.` and `..` are unreserved and
  /// would still be dot-segments: callers never pass them (see
  /// `UserIDValidation`, `EventsByUserHandler`).
  package static func encodeSegment(_ text: String) -> String {
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
package struct UpstreamPaths {
  package let getUsers: String
  package let getEvents: String
  package let getUserById: String
  package let getEventById: String
  package let addEvent: String

  package init(basePath: String) {
    getUsers = basePath + "/getUsers"
    getEvents = basePath + "/getEvents"
    getUserById = basePath + "/getUserById/"
    getEventById = basePath + "/getEventById/"
    addEvent = basePath + "/addEvent"
  }

  /// The path of `route`; `id` (an event or user id) becomes exactly one
  /// path segment.
  func path(_ route: UpstreamRoute, id: String = "") -> String {
    switch route {
    case .getUsers: getUsers
    case .getEvents: getEvents
    case .getUserById: getUserById + UpstreamClient.encodeSegment(id)
    case .getEventById: getEventById + UpstreamClient.encodeSegment(id)
    case .addEvent: addEvent
    }
  }
}
