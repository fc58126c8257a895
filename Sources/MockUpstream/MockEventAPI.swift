import Libevent
import MiniJSON

/// The stand-in for the external event API (docs/api.md): a real evhttp server
/// with the original's data, its slow event lookups, its failing writes and
/// its dropped connections. Every delay is a loop timer.
public final class MockEventAPI {
  public enum Route: String, Sendable, CaseIterable {
    case getUsers, getUserById, addEvent, getEvents, getEventById, other
  }

  public let settings: MockSettings
  private let loop: EventLoop
  private var server: HTTPServer!
  private var store: MockStore
  private var random: SeededGenerator
  private var addEventCount = 0
  /// Called on the loop for every request, before it is answered.
  public var onRequest: ((Route) -> Void)?
  /// API requests not yet answered, the most there were at once, and how
  /// many arrived (`GET /_mock/stats`).
  private var inFlight = 0
  private var peakInFlight = 0
  private var received = 0
  /// Until when every API request fails (`POST /_mock/outage?ms=N`).
  private var outageUntilMs: Int64 = 0
  /// How long a stored event's acknowledgement waits
  /// (`POST /_mock/write-delay?ms=N`): a write that landed upstream whose
  /// answer is slow, or never reaches a caller that dies meanwhile.
  private var writeDelayMs: Int64 = 0
  /// Events stored, and events sent again with an id already stored
  /// (acknowledged, not stored twice).
  private var eventsStored = 0
  private var repeatedIDs = 0

  public init(loop: EventLoop, settings: MockSettings) throws {
    self.loop = loop
    self.settings = settings
    store = MockStore(extraUsers: settings.extraUsers)
    random = SeededGenerator(seed: settings.seed)
    let tls =
      settings.servesTLS
      ? try TLSServerContext(
        certificateFile: settings.tlsCertificateFile, keyFile: settings.tlsKeyFile,
        resumption: settings.tlsResumption) : nil
    server = try HTTPServer(
      loop: loop, host: settings.host, port: settings.port,
      limits: Self.limits(settings), tls: tls
    ) { [self] request in self.handle(request) }
  }

  public var port: Int { server.port }

  private static func limits(_ settings: MockSettings) -> HTTPServerLimits {
    var limits = HTTPServerLimits(maxBodyBytes: 1 << 20)
    if let timeout = settings.clientTimeoutMs {
      limits.headerTimeoutMs = timeout
      limits.bodyTimeoutMs = timeout
      limits.idleTimeoutMs = timeout
    }
    return limits
  }

  /// Stops accepting; `onDrained` runs when the requests in flight are answered.
  public func stop(onDrained: @escaping () -> Void = {}) {
    server.stopAccepting(onDrained: onDrained)
  }

  private func handle(_ request: ServerRequest) {
    let segments = request.path.split(separator: "/", omittingEmptySubsequences: false)
    let name = segments.count > 1 ? String(segments[1]) : ""
    let parameter = segments.count == 3 ? String(segments[2]).percentDecoded : nil
    let route: Route =
      switch (request.method, name, segments.count, parameter) {
      case (.get, "getUsers", 2, _): .getUsers
      case (.get, "getEvents", 2, _): .getEvents
      case (.get, "getUserById", 3, .some): .getUserById
      case (.get, "getEventById", 3, .some): .getEventById
      case (.post, "addEvent", 2, _): .addEvent
      default: .other
      }
    if route == .other, request.path.hasPrefix("/_mock/") {
      control(request)
      return
    }
    onRequest?(route)
    received += 1
    inFlight += 1
    peakInFlight = max(peakInFlight, inFlight)
    if loop.nowMs < outageUntilMs {
      reply(request, 503, Array(Self.overloaded.utf8))
      return
    }
    switch route {
    case .getUsers: answerOrDrop(request) { $0.store.allUsers() }
    case .getEvents: answerOrDrop(request) { $0.store.allEvents() }
    case .getUserById:
      if let user = store.user(parameter!) {
        reply(request, 200, user.bytes)
      } else {
        notFound(request, "user")
      }
    case .getEventById:
      let slow =
        settings.slowRate > 0 && Double.random(in: 0..<1, using: &random) < settings.slowRate
      loop.schedule(afterMs: slow ? settings.slowDelayMs : settings.eventDelayMs) { [self] in
        if let event = store.event(parameter!) {
          reply(request, 200, event)
        } else {
          notFound(request, "event")
        }
      }
    case .addEvent: addEvent(request)
    case .other: notFound(request, "route")
    }
  }

  private func answerOrDrop(_ request: ServerRequest, body: (MockEventAPI) -> [UInt8]) {
    if settings.errorRate > 0 && Double.random(in: 0..<1, using: &random) < settings.errorRate {
      inFlight -= 1
      request.drop()
    } else {
      reply(request, 200, body(self))
    }
  }

  /// Requests 1…OK_COUNT of each cycle succeed; the next FAIL_COUNT fail slowly.
  private func addEvent(_ request: ServerRequest) {
    let cycle = max(1, settings.okCount + settings.failCount)
    let position = addEventCount % cycle
    addEventCount += 1
    guard position < settings.okCount else {
      loop.schedule(afterMs: settings.failDelayMs) { [self] in
        reply(request, 503, Array(Self.overloaded.utf8))
      }
      return
    }
    guard let event = try? JSONValue.parse(request.body), case .object = event,
      let userKey = event["userId"].flatMap({ $0.stringValue ?? $0.integerText })
    else {
      reply(request, 400, Array(#"{"success":false,"error":"Invalid event"}"#.utf8))
      return
    }
    let id = event["id"]?.stringValue ?? "mock-event-\(addEventCount)"
    // De-duplication by id, checked before the user: an event sent again
    // (a client's retry with the same id) is acknowledged, not stored twice.
    if store.event(id) != nil {
      repeatedIDs += 1
      reply(request, 200, Array(#"{"success":true}"#.utf8))
      return
    }
    guard store.addEvent(id: id, userKey: userKey, json: request.body) else {
      notFound(request, "user")
      return
    }
    eventsStored += 1
    guard writeDelayMs > 0 else {
      reply(request, 200, Array(#"{"success":true}"#.utf8))
      return
    }
    loop.schedule(afterMs: writeDelayMs) { [self] in
      reply(request, 200, Array(#"{"success":true}"#.utf8))
    }
  }

  private static let overloaded =
    #"{"success":false,"error":"Service temporarily unavailable","message":"Event API is experiencing high load"}"#

  private func notFound(_ request: ServerRequest, _ what: String) {
    reply(request, 404, Array(#"{"error":"\#(what) not found"}"#.utf8))
  }

  private func reply(_ request: ServerRequest, _ status: Int, _ body: [UInt8]) {
    inFlight -= 1
    respond(request, status, body)
  }

  private func respond(_ request: ServerRequest, _ status: Int, _ body: [UInt8]) {
    request.respond(status: status, headers: [("Content-Type", "application/json")], body: body)
  }

  /// Not part of the API: what tests and benchmarks ask of the mock.
  /// `GET /_mock/stats` → `{"received":…,"inFlight":…,"peakInFlight":…}`;
  /// `POST /_mock/stats/reset` zeroes `received` and the peak;
  /// `POST /_mock/outage?ms=N` fails every API request with 503 for N ms
  /// (0 ends an outage); `POST /_mock/write-delay?ms=N` stores each new
  /// event at once and acknowledges it N ms later. The stats also count
  /// `eventsStored` and `repeatedIds` (events sent again with a stored id).
  private func control(_ request: ServerRequest) {
    switch (request.method, request.path) {
    case (.get, "/_mock/stats"):
      var json = JSONObjectWriter()
      json.int("received", Int64(received))
      json.int("inFlight", Int64(inFlight))
      json.int("peakInFlight", Int64(peakInFlight))
      json.int("outageLeftMs", max(0, outageUntilMs - loop.nowMs))
      json.int("eventsStored", Int64(eventsStored))
      json.int("repeatedIds", Int64(repeatedIDs))
      respond(request, 200, json.finish())
    case (.post, "/_mock/stats/reset"):
      received = 0
      peakInFlight = inFlight
      respond(request, 204, [])
    case (.post, "/_mock/outage"):
      let query = request.query ?? ""
      guard query.hasPrefix("ms="), let ms = Int64(query.dropFirst(3)), ms >= 0 else {
        respond(request, 400, Array(#"{"error":"expected ?ms=N"}"#.utf8))
        return
      }
      outageUntilMs = loop.nowMs + ms
      respond(request, 204, [])
    case (.post, "/_mock/write-delay"):
      let query = request.query ?? ""
      guard query.hasPrefix("ms="), let ms = Int64(query.dropFirst(3)), ms >= 0 else {
        respond(request, 400, Array(#"{"error":"expected ?ms=N"}"#.utf8))
        return
      }
      writeDelayMs = ms
      respond(request, 204, [])
    default:
      respond(request, 404, Array(#"{"error":"route not found"}"#.utf8))
    }
  }
}
