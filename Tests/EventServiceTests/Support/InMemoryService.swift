import IdempotencyKeys
import Libevent
import Logging
import MiniJSON
import Resilience
import Settings
import Telemetry

@testable import EventService

/// A client request in memory: what the route is asked, and the reply it
/// gave. `hangUp()` is the client leaving before the reply.
final class RecordedRequest: InboundRequest {
  let method: HTTPMethod
  let path: String
  let body: [UInt8]
  private let headers: [(String, String)]
  private(set) var status: Int?
  private(set) var replyHeaders: [(String, String)] = []
  private(set) var replyBody: [UInt8] = []
  private var goneObserver: (any ClientGoneObserver)?

  init(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: String = "") {
    self.method = method
    self.path = path
    self.headers = headers
    self.body = Array(body.utf8)
  }

  var hasResponded: Bool { status != nil }

  func header(_ name: StaticString) -> String? {
    let wanted = name.description.lowercased()
    return headers.first { $0.0.lowercased() == wanted }?.1
  }

  func withHeader<R>(_ name: StaticString, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
    guard let value = header(name) else { return body(nil) }
    return Array(value.utf8).withUnsafeBufferPointer { body($0) }
  }

  func addHeader(_ name: StaticString, _ value: StaticString) {
    replyHeaders.append((name.description, value.description))
  }

  func addHeader(_ name: StaticString, _ value: String) {
    replyHeaders.append((name.description, value))
  }

  func addHeader(_ name: StaticString, decimal value: Int) {
    replyHeaders.append((name.description, String(value)))
  }

  func setContentType(_ value: StaticString) { addHeader("Content-Type", value) }

  func setRequestID(_ id: String) { addHeader("X-Request-Id", id) }

  func respond(status: Int, body: [UInt8]) {
    guard self.status == nil else { return }
    self.status = status
    replyBody = body
    goneObserver = nil
  }

  func onClientGone(notify observer: any ClientGoneObserver) {
    if status == nil { goneObserver = observer }
  }

  /// The pieces of a streamed reply so far, and whether it has ended.
  private(set) var chunks: [[UInt8]] = []
  private(set) var streamEnded = false
  /// Set to make the next pieces wait (a client that does not read).
  var backlogged = false

  func startStream(status: Int, notify observer: any ClientGoneObserver) -> Bool {
    guard self.status == nil else { return false }
    self.status = status
    guard method != .head else { return false }
    goneObserver = observer
    return true
  }

  func sendChunk(_ bytes: [UInt8], limit: Int) -> ChunkResult {
    guard status != nil, !streamEnded, goneObserver != nil else { return .closed }
    if backlogged { return .backlogged }
    chunks.append(bytes)
    return .sent
  }

  func endStream() {
    streamEnded = true
    goneObserver = nil
  }

  /// The streamed pieces as text.
  var streamText: String { chunks.map { String(decoding: $0, as: UTF8.self) }.joined() }

  /// The client leaves before its reply.
  func hangUp() {
    let observer = goneObserver
    goneObserver = nil
    observer?.clientGone()
  }

  func replyHeader(_ name: String) -> String? {
    replyHeaders.first { $0.0.lowercased() == name.lowercased() }?.1
  }

  var text: String { String(decoding: replyBody, as: UTF8.self) }
  var json: JSONValue? { try? JSONValue.parse(replyBody) }
  var errorCode: String? { json?["error"]?.stringValue }
}

/// The service's routes with no loop and no socket: requests in memory, the
/// upstream a `FakeTransport`, time a `ManualScheduler`.
final class InMemoryService {
  let clock = ManualScheduler(nowMs: 1_000_000)
  let transport = FakeTransport()
  let context: ServiceContext
  /// Every line the service logged, at every level.
  let logs = LogRecorder()
  private let dispatcher: RequestDispatcher

  init(keyStore: (any KeyStore)? = nil, _ configure: (inout ServiceConfig) -> Void = { _ in }) {
    var config = ServiceConfig()
    config.retry = RetryBackoff(retries: 2, baseMs: 10, maxMs: 10)
    configure(&config)
    context = ServiceContext(
      clock: clock, config: config, transport: transport, keyStore: keyStore,
      logger: Logger(label: "test") { [logs] _ in RecordingLogHandler(recorder: logs) },
      metrics: ServiceMetrics())
    dispatcher = RequestDispatcher(context: context)
  }

  @discardableResult
  func send(_ request: RecordedRequest) -> RecordedRequest {
    dispatcher.dispatch(request)
    return request
  }

  @discardableResult
  func get(_ path: String, headers: [(String, String)] = []) -> RecordedRequest {
    send(RecordedRequest(.get, path, headers: headers))
  }

  @discardableResult
  func post(
    _ body: String, key: String? = nil, contentType: String? = "application/json"
  ) -> RecordedRequest {
    var headers: [(String, String)] = []
    if let contentType { headers.append(("Content-Type", contentType)) }
    if let key { headers.append(("Idempotency-Key", key)) }
    return send(RecordedRequest(.post, "/addEvent", headers: headers, body: body))
  }

  var metricsText: String { String(decoding: context.metrics.render(), as: UTF8.self) }
  var health: JSONValue? { self.get("/health").json }
}

/// The lines a `RecordingLogHandler` was given.
final class LogRecorder: @unchecked Sendable {
  struct Line {
    let level: Logger.Level
    let message: String
    let metadata: Logger.Metadata
  }
  private(set) var lines: [Line] = []

  func append(_ line: Line) { lines.append(line) }

  /// The request lines (`msg=request`), oldest first.
  var requests: [Line] { lines.filter { $0.message == "request" } }
}

/// Logs into a `LogRecorder`, at every level.
struct RecordingLogHandler: LogHandler {
  let recorder: LogRecorder
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .trace

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    recorder.append(
      .init(
        level: event.level, message: event.message.description,
        metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
  }
}
