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
    onRequest?(route)
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
      reply(request, 200, Array(#"{"success":true}"#.utf8))
      return
    }
    guard store.addEvent(id: id, userKey: userKey, json: request.body) else {
      notFound(request, "user")
      return
    }
    reply(request, 200, Array(#"{"success":true}"#.utf8))
  }

  private static let overloaded =
    #"{"success":false,"error":"Service temporarily unavailable","message":"Event API is experiencing high load"}"#

  private func notFound(_ request: ServerRequest, _ what: String) {
    reply(request, 404, Array(#"{"error":"\#(what) not found"}"#.utf8))
  }

  private func reply(_ request: ServerRequest, _ status: Int, _ body: [UInt8]) {
    request.respond(status: status, headers: [("Content-Type", "application/json")], body: body)
  }
}
