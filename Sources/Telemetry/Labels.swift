/// The names the service's metrics and logs use for what it does: its
/// routes, the upstream routes it calls, how an upstream attempt ended, its
/// breakers, and where an answer came from. The behaviour behind them lives
/// with the code that has it (`EventService`).

/// The public routes (and the `route` label of request metrics).
public enum RouteID: String, CaseIterable, Sendable {
  case getUsers = "/getUsers"
  case getEvents = "/getEvents"
  case getEventsByUserId = "/getEventsByUserId/:id"
  case addEvent = "/addEvent"
  case health = "/health"
  case metrics = "/metrics"
  case openAPI = "/openapi.yaml"
  case ready = "/ready"
  case status = "/status"
  case statusStream = "/status/stream"

  /// Probes, scrapes, the status view and the API document: always served,
  /// whatever the load (never shed, never counted against the memory
  /// budget), and logged at debug.
  public var isOperational: Bool {
    switch self {
    case .health, .metrics, .openAPI, .ready, .status, .statusStream: true
    case .getUsers, .getEvents, .getEventsByUserId, .addEvent: false
    }
  }
}

/// The upstream routes the service calls (and the `route` label of its metrics).
public enum UpstreamRoute: String, CaseIterable, Sendable {
  case getUsers, getEvents, getUserById, getEventById, addEvent
}

/// How an upstream attempt ended (the `outcome` label of its metric).
public enum UpstreamOutcome: String, Sendable {
  case success, answer, timeout
  case errorStatus = "error_status"
  case malformedBody = "malformed_body"
  case connectError = "connect_error"
  case connectionError = "connection_error"
  /// The upstream's host name did not resolve.
  case dnsError = "dns_error"
  /// The TLS handshake failed or the certificate did not verify.
  case tlsError = "tls_error"
  case tooLarge = "too_large"
  /// Not the upstream's doing (out of file descriptors or memory here):
  /// never retried, never a breaker failure.
  case localError = "local_error"
  /// Not sent: the read breaker is open.
  case breakerOpen = "breaker_open"
}

/// Which breaker: the one over `POST /addEvent`, or the one over upstream GETs.
public enum BreakerName: String, Sendable {
  case write, read
}

/// Where an answer came from when answers are kept (RFC 9211 `Cache-Status`).
public enum CacheUse: Sendable, Equatable {
  /// From the upstream just now (`fwd=miss`).
  case miss
  /// A kept answer younger than `CACHE_TTL_MS`, served without asking.
  case hit(ageMs: Int64)
  /// A kept answer standing in for a GET that failed (`detail=stale`).
  case stale(ageMs: Int64)

  /// Two parts of one reply: stale over hit over miss, and the older age.
  public func merged(with other: CacheUse) -> CacheUse {
    let age = max(ageMs, other.ageMs)
    switch (self, other) {
    case (.stale, _), (_, .stale): return .stale(ageMs: age)
    case (.hit, _), (_, .hit): return .hit(ageMs: age)
    default: return .miss
    }
  }

  public var ageMs: Int64 {
    switch self {
    case .miss: 0
    case .hit(let age), .stale(let age): age
    }
  }
}

/// Why an upstream attempt failed, or why none was made: the request log's
/// `upstream_failures` (a count of each) and `upstream_cause` (the last
/// one, for a 5xx answer).
public enum FailureCause: String, CaseIterable, Sendable {
  case timeout
  /// Refused or unreachable: no connection could be made.
  case refused
  /// The connection closed or reset before a complete answer.
  case connectionClosed = "connection_closed"
  case dnsError = "dns_error"
  case tlsError = "tls_error"
  /// An answer that is neither 2xx nor 4xx (nearly always a 5xx).
  case status5xx = "status_5xx"
  /// A 2xx whose body is not the route's JSON, or an answer that is not HTTP.
  case malformedBody = "malformed_body"
  /// An answer over `MAX_UPSTREAM_BODY_BYTES`.
  case tooLarge = "too_large"
  /// Out of file descriptors or memory here: the upstream was never reached.
  case localError = "local_error"
  /// No retry: the retry budget was spent.
  case budgetRefused = "budget_refused"
  /// No attempt: the breaker was OPEN.
  case breakerOpen = "breaker_open"
  /// No attempt, or none finished: the request's deadline passed.
  case deadline
}

/// The failure causes of one request: how often each happened, and the last.
/// Kept inline (no allocation, even on the first failure); a count stops
/// at 65,535.
public struct FailureTally: Sendable {
  private var counts = SIMD16<UInt16>()
  public private(set) var last: FailureCause?
  private static let causes = FailureCause.allCases

  public init() {}

  public var isEmpty: Bool { last == nil }

  public mutating func add(_ cause: FailureCause) {
    let slot = cause.slot
    if counts[slot] < .max { counts[slot] += 1 }
    last = cause
  }

  public func count(of cause: FailureCause) -> Int { Int(counts[cause.slot]) }

  /// Each cause that happened and how often, in declaration order.
  public var entries: [(cause: FailureCause, count: Int)] {
    guard last != nil else { return [] }
    return Self.causes.compactMap { cause in
      counts[cause.slot] > 0 ? (cause, Int(counts[cause.slot])) : nil
    }
  }
}

extension FailureCause {
  /// Its place in `FailureTally`, without searching `allCases`.
  fileprivate var slot: Int {
    switch self {
    case .timeout: 0
    case .refused: 1
    case .connectionClosed: 2
    case .dnsError: 3
    case .tlsError: 4
    case .status5xx: 5
    case .malformedBody: 6
    case .tooLarge: 7
    case .localError: 8
    case .budgetRefused: 9
    case .breakerOpen: 10
    case .deadline: 11
    }
  }
}
