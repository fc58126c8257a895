import Libevent
import Logging
import MiniJSON
import Resilience
import Telemetry
import UpstreamAccess

/// One request as the service handles it: the inbound request, its request
/// id, its timing, and the one way to answer it (which also logs the request
/// line and records its metrics).
final class Exchange: ClientGoneObserver, AttemptObserver {
  let request: any InboundRequest
  let id: String
  let trace: TraceContext
  /// The matched route, or nil.
  let route: RouteID?
  /// When it arrived, on the context's clock.
  private let startUs: Int64
  private let context: ServiceContext
  var upstreamCalls = 0
  /// Bytes this request holds against the memory budget, given back when
  /// it is answered or abandoned.
  private var heldBytes = 0
  /// What `cancelOnClientGone` stops; held until the request is answered.
  private var work: (any CancellableWork)?
  /// When a read must be answered (`REQUEST_TIMEOUT_MS` after it arrived),
  /// on the loop's clock; its place among `RequestDeadlines`.
  let deadlineUs: Int64
  @exclusivity(unchecked) var deadlineQueued = false
  @exclusivity(unchecked) var deadlineNext: Exchange?
  @exclusivity(unchecked) unowned(unsafe) var deadlinePrevious: Exchange?
  /// Counted against `MAX_INFLIGHT` until answered.
  @exclusivity(unchecked) var admitted = false
  /// The read breaker's leave for this read's upstream GETs, and what the
  /// read says of the upstream's health when it ends; or, while the breaker
  /// is OPEN, how long until it lets a probe through.
  @exclusivity(unchecked) private var readPermit: BreakerPermit?
  @exclusivity(unchecked) private var readOutcome = BreakerOutcome.success
  @exclusivity(unchecked) private var breakerOpenForMs: Int64?
  /// How kept answers had a part in the reply (the parts merged).
  @exclusivity(unchecked) private var cacheUse: CacheUse?
  /// Why upstream attempts failed or were not made, for the log line.
  @exclusivity(unchecked) private var failures = FailureTally()

  init(
    request: any InboundRequest, id: String, trace: TraceContext, route: RouteID?,
    context: ServiceContext
  ) {
    self.request = request
    self.id = id
    self.trace = trace
    self.route = route
    self.context = context
    startUs = context.clock.nowUs
    deadlineUs = startUs + context.config.requestTimeoutMs * 1_000
  }

  var isAnswered: Bool { request.hasResponded }

  /// Who upstream requests are made for: their request id and trace.
  var caller: UpstreamCaller {
    UpstreamCaller(
      requestID: id, trace: trace, deadlineUs: deadlineUs, breakerOpenForMs: breakerOpenForMs,
      observer: self)
  }

  func attemptFailed(_ cause: FailureCause) { failures.add(cause) }

  /// Asks the read breaker, if there is one, whether this read may call the
  /// upstream; while it is OPEN the read gets kept answers only.
  func admitRead() {
    guard let breaker = context.readBreaker else { return }
    switch breaker.admit() {
    case .allow(let permit): readPermit = permit
    case .reject(let retryAfterMs): breakerOpenForMs = retryAfterMs
    }
  }

  /// One part of the read ended: a GET that failed for good (even if a kept
  /// answer stood in) is a read breaker failure; kept answers mark the reply.
  func note(_ result: UpstreamResult) {
    // Counted when asked for; a kept answer served instead made no call.
    if breakerOpenForMs != nil { upstreamCalls -= 1 }
    switch result {
    case .success(let response):
      guard let use = response.cacheUse else { return }
      if case .hit = use { upstreamCalls -= 1 }
      if case .stale = use, readPermit != nil { readOutcome = .failure }
      cacheUse = cacheUse.map { $0.merged(with: use) } ?? use
    case .refused: break
    case .failure(let failure):
      if !failure.isLocal && readPermit != nil { readOutcome = .failure }
    }
  }

  /// Answers the read by its deadline: whatever upstream work it has left
  /// stops, and it is answered as that work decides (a kept answer), or 504.
  func deadlinePassed() {
    guard !request.hasResponded else { return }
    let work = self.work
    self.work = nil
    work?.cancel()
    readOutcome = .failure
    failures.add(.deadline)
    if work?.answerAtDeadline() != true { fail(.upstreamTimeout) }
  }

  /// From now on the read must be answered by its deadline.
  func startDeadline() { context.deadlines.add(self) }

  func json(_ status: Int, _ body: [UInt8]) {
    send(status, body, contentType: "application/json; charset=utf-8")
  }

  /// The error's JSON shape, with its headers.
  func fail(_ error: ServiceError) {
    guard !request.hasResponded else { return }
    if let allow = error.allow { request.addHeader("Allow", allow) }
    if let seconds = error.retryAfterSeconds { request.addHeader("Retry-After", decimal: seconds) }
    json(error.status, error.body)
  }

  /// Holds `bytes` (a body kept for the reply) against the memory budget;
  /// false, with nothing held, when they do not fit.
  func hold(_ bytes: Int) -> Bool {
    guard context.budget.take(bytes, elsewhere: context.replyBytes) else { return false }
    heldBytes += bytes
    return true
  }

  private func releaseHeld() {
    context.budget.give(heldBytes)
    heldBytes = 0
  }

  func send(_ status: Int, _ body: [UInt8], contentType: StaticString) {
    guard !request.hasResponded else { return }
    releaseHeld()
    // The reply is the server's to hold until written: it must fit too.
    if route?.isOperational != true {
      if status < 300 && !context.budget.fits(body.count, elsewhere: context.replyBytes) {
        fail(.overloaded)
        return
      }
    }
    request.setContentType(contentType)
    request.setRequestID(id)
    if let cacheUse, status == 200 { addCacheHeaders(cacheUse) }
    request.respond(status: status, body: body)
    work = nil
    finished()
    record(status)
  }

  /// Starts the reply as a stream of server-sent events (its log line is
  /// written when it ends); false when it was answered whole instead (HEAD).
  func openEventStream(notify observer: any ClientGoneObserver) -> Bool {
    request.setContentType("text/event-stream; charset=utf-8")
    request.setRequestID(id)
    request.addHeader("Cache-Control", "no-cache")
    guard request.startStream(status: 200, notify: observer) else {
      streamEnded()
      return false
    }
    return true
  }

  /// The stream ended (the client left, or the service is stopping).
  func streamEnded() {
    finished()
    record(200)
  }

  /// Stops the request's upstream work if its client hangs up before the
  /// answer; the request is logged and counted with status 499 (nginx's
  /// "client closed request").
  func cancelOnClientGone(_ work: any CancellableWork) {
    self.work = work
    request.onClientGone(notify: self)
  }

  static let clientClosedRequest = 499

  func clientGone() {
    if readOutcome == .success { readOutcome = .neutral }
    work?.cancel()
    work = nil
    releaseHeld()
    finished()
    record(Self.clientClosedRequest)
  }

  /// `Cache-Status` (RFC 9211) and, for a kept answer, `Age` in whole
  /// seconds since its oldest part was received.
  private func addCacheHeaders(_ use: CacheUse) {
    switch use {
    case .miss: request.addHeader("Cache-Status", "event-service; fwd=miss")
    case .hit: request.addHeader("Cache-Status", "event-service; hit")
    case .stale: request.addHeader("Cache-Status", "event-service; hit; detail=stale")
    }
    if use != .miss { request.addHeader("Age", decimal: Int(use.ageMs / 1_000)) }
  }

  /// Leaves the deadline list and the admission count, and tells the read
  /// breaker how the read went.
  private func finished() {
    if let permit = readPermit {
      readPermit = nil
      context.readBreaker?.record(readOutcome, permit: permit)
    }
    if deadlineQueued { context.deadlines.remove(self) }
    if admitted {
      admitted = false
      context.inflight -= 1
    }
  }

  /// The request's metrics and its log line.
  private func record(_ status: Int) {
    let elapsedNs = UInt64(max(0, context.clock.nowUs - startUs)) * 1_000
    context.metrics.recordRequest(route: route, status: status, nanoseconds: Int64(elapsedNs))
    // Probes and scrapes come every few seconds from every balancer and
    // scraper: at debug, so that the default log is about client requests.
    context.logger.log(
      level: route?.isOperational == true ? .debug : .info,
      "request",
      metadata: logFields(status: status, elapsedNs: elapsedNs))
  }

  /// The request line's fields: §3's, and the failure causes when there
  /// were any (the last one's for a 5xx answer).
  private func logFields(status: Int, elapsedNs: UInt64) -> Logger.Metadata {
    var fields: Logger.Metadata = [
      "request_id": .string(id), "trace_id": .string(trace.traceID),
      "method": .string(request.method.rawValue),
      "path": .string(request.path),
      "status": .stringConvertible(status),
      "duration_ms": .stringConvertible(LogNumber(Self.milliseconds(elapsedNs))),
      "upstream_calls": .stringConvertible(upstreamCalls),
    ]
    guard let last = failures.last else { return fields }
    var counts: Logger.Metadata = [:]
    for (cause, count) in failures.entries { counts[cause.rawValue] = .stringConvertible(count) }
    fields["upstream_failures"] = .dictionary(counts)
    if status >= 500 { fields["upstream_cause"] = .string(last.rawValue) }
    return fields
  }

  private static func milliseconds(_ ns: UInt64) -> String {
    let tenths = ns / 100_000
    return "\(tenths / 10).\(tenths % 10)"
  }
}

/// Upstream work a request started, which stops if its client leaves.
protocol CancellableWork: AnyObject {
  func cancel()
  /// Answers the request from kept answers when its deadline passes (its
  /// work already cancelled); false when it cannot (then 504).
  func answerAtDeadline() -> Bool
}

extension CancellableWork {
  func answerAtDeadline() -> Bool { false }
}

extension UpstreamHandle: CancellableWork {}
