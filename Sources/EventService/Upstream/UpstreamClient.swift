import Libevent
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
  private var random: any RandomNumberGenerator
  private var shared: [String: UpstreamFetch] = [:]
  private var budget: RetryBudget
  /// Span ids of upstream requests.
  private var spans = TraceIDGenerator()

  public init(
    loop: EventLoop, address: UpstreamAddress, maxConnections: Int, timeoutMs: Int64,
    retry: RetryBackoff, budget: RetryBudget.Settings,
    coalesce: Bool, metrics: ServiceMetrics,
    random: any RandomNumberGenerator = SystemRandomNumberGenerator()
  ) {
    self.loop = loop
    http = HTTPClient(
      loop: loop, host: address.host, port: address.port, maxConnections: maxConnections,
      timeoutMs: timeoutMs)
    self.retry = retry
    self.budget = RetryBudget(settings: budget)
    self.coalesce = coalesce
    self.metrics = metrics
    self.random = random
  }

  public func shutdown() { http.shutdown() }

  public func getUsers(for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void)
    -> UpstreamHandle
  {
    get(.getUsers, path: "/getUsers", caller, completion)
  }

  public func getEvents(
    for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getEvents, path: "/getEvents", caller, completion)
  }

  public func getUser(
    id: String, for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getUserById, path: "/getUserById/" + Self.encodeSegment(id), caller, completion)
  }

  public func getEvent(
    id: String, for caller: UpstreamCaller, _ completion: @escaping (UpstreamResult) -> Void
  ) -> UpstreamHandle {
    get(.getEventById, path: "/getEventById/" + Self.encodeSegment(id), caller, completion)
  }

  /// Sends the event once, on a fresh connection (never a keep-alive one the
  /// upstream may have closed: a failure it never saw must not count).
  @discardableResult
  public func addEvent(
    _ body: [UInt8], for caller: UpstreamCaller,
    _ completion: @escaping (UpstreamResult) -> Void
  ) -> ClientCall {
    let request = ClientRequest(
      method: .post, path: "/addEvent",
      headers: [("Content-Type", "application/json")] + caller.headers(span: spans.next()),
      body: body, idempotent: false)
    return http.send(request) { [metrics] result in
      let classified = UpstreamResult(result, route: .addEvent)
      metrics.recordUpstream(route: .addEvent, outcome: classified.outcome)
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
    if fetch.attempt == 0 { budget.recordFirstAttempt(now: loop.nowMs) }
    // The closures hold the fetch until its call or retry ends or is cancelled.
    let request = ClientRequest(
      method: .get, path: fetch.key, headers: fetch.caller.headers(span: spans.next()))
    fetch.call = http.send(request) {
      [weak self, fetch] result in
      guard let self else { return }
      fetch.call = nil
      let classified = UpstreamResult(result, route: route)
      self.metrics.recordUpstream(route: route, outcome: classified.outcome)
      if case .failure = classified,
        let delay = self.retry.delayMs(attempt: fetch.attempt, using: &self.random),
        self.spendRetry()
      {
        fetch.attempt += 1
        fetch.retryWork = self.loop.schedule(afterMs: delay) { [weak self, fetch] in
          guard let self else { return }
          self.attempt(fetch, route: route)
        }
        return
      }
      self.forget(fetch)
      fetch.deliver(classified, loop: self.loop)
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

  /// Percent-encodes everything but unreserved characters (RFC 3986).
  static func encodeSegment(_ text: String) -> String {
    // Ids are nearly always unreserved already: the same string back, with
    // no byte-by-byte rebuild (about 1,700 instructions an id).
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
