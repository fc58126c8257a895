import Libevent
import Logging
import MiniJSON

/// One request as the service handles it: the inbound request, its request
/// id, its timing, and the one way to answer it (which also logs the request
/// line and records its metrics).
final class Exchange: ClientGoneObserver {
  let request: ServerRequest
  let id: String
  let trace: TraceContext
  /// The matched route, or nil.
  let route: RouteID?
  private let startNs: UInt64
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
  var deadlineQueued = false
  var deadlineNext: Exchange?
  unowned(unsafe) var deadlinePrevious: Exchange?
  /// Counted against `MAX_INFLIGHT` until answered.
  var admitted = false

  init(
    request: ServerRequest, id: String, trace: TraceContext, route: RouteID?,
    context: ServiceContext
  ) {
    self.request = request
    self.id = id
    self.trace = trace
    self.route = route
    self.context = context
    startNs = MonotonicClock.nowNs()
    deadlineUs = Int64(startNs / 1_000) + context.config.requestTimeoutMs * 1_000
  }

  var isAnswered: Bool { request.hasResponded }

  /// Who upstream requests are made for: their request id and trace.
  var caller: UpstreamCaller { UpstreamCaller(requestID: id, trace: trace, deadlineUs: deadlineUs) }

  /// Answers the read by its deadline: whatever upstream work it has left
  /// stops, and it is answered as that work decides (a kept answer), or 504.
  func deadlinePassed() {
    guard !request.hasResponded else { return }
    let work = self.work
    self.work = nil
    work?.cancel()
    fail(work?.answerAtDeadline() ?? .upstreamTimeout)
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
    request.respond(status: status, body: body)
    work = nil
    finished()
    record(status)
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
    work?.cancel()
    work = nil
    releaseHeld()
    finished()
    record(Self.clientClosedRequest)
  }

  /// Leaves the deadline list and the admission count.
  private func finished() {
    if deadlineQueued { context.deadlines.remove(self) }
    if admitted {
      admitted = false
      context.inflight -= 1
    }
  }

  /// The request's metrics and its log line.
  private func record(_ status: Int) {
    let elapsedNs = MonotonicClock.nowNs() - startNs
    context.metrics.recordRequest(route: route, status: status, nanoseconds: Int64(elapsedNs))
    context.logger.info(
      "request",
      metadata: [
        "request_id": .string(id), "trace_id": .string(trace.traceID),
        "method": .string(request.method.rawValue),
        "path": .string(request.path),
        "status": .stringConvertible(status), "duration_ms": .string(Self.milliseconds(elapsedNs)),
        "upstream_calls": .stringConvertible(upstreamCalls),
      ])
  }

  private static func milliseconds(_ ns: UInt64) -> String {
    let tenths = ns / 100_000
    return "\(tenths / 10).\(tenths % 10)"
  }
}

/// Upstream work a request started, which stops if its client leaves.
protocol CancellableWork: AnyObject {
  func cancel()
  /// The error the request gets when its deadline passes (its work
  /// already cancelled); nil for 504 `upstream_timeout`.
  func answerAtDeadline() -> ServiceError?
}

extension CancellableWork {
  func answerAtDeadline() -> ServiceError? { nil }
}

extension UpstreamHandle: CancellableWork {}
