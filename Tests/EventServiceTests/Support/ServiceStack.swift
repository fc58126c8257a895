import EventService
import Libevent
import Logging
import MockUpstream
import ServiceAssembly
import Telemetry

/// What a scripted upstream answers to one request.
struct ScriptedReply: Sendable {
  var status = 200
  var body = "{}"
  var delayMs: Int64 = 0
  /// Close the connection without answering.
  var drop = false
}

/// The service on ephemeral ports, on its own loop thread, in front of either
/// the embedded mock (fast timings) or a scripted upstream. The test talks
/// to it over real HTTP; the upstream's requests are counted by route/path.
struct ServiceStack {
  let background: BackgroundLoop
  let servicePort: Int
  let upstreamPort: Int
  let upstreamRequests: Tally
  /// The scripted upstream's view of trace headers (empty with the mock).
  var upstreamHeaders = UpstreamHeaderLog()

  typealias Script = @Sendable (_ method: String, _ path: String, _ body: [UInt8]) -> ScriptedReply

  static func testConfig() -> AssemblyConfig {
    var config = AssemblyConfig()
    config.port = 0
    config.logLevel = .error
    config.retry = .init(retries: 2, baseMs: 2, maxMs: 10)
    config.upstreamTimeoutMs = 1_000
    config.mock.port = 0
    config.mock.errorRate = 0
    config.mock.eventDelayMs = 20
    config.mock.failDelayMs = 5
    return config
  }

  /// Service plus embedded mock; the tally counts mock requests by route.
  static func withMock(_ configure: (inout AssemblyConfig) -> Void = { _ in }) throws
    -> ServiceStack
  {
    var config = testConfig()
    configure(&config)
    let settings = config
    let tally = Tally()
    let background = try BackgroundLoop { loop in
      let app = try AssembledService(loop: loop, config: settings, logger: testLogger(settings))
      app.mock?.onRequest = { route in tally.add(route.rawValue) }
      return (app, [app.service.port, app.mock?.port ?? 0])
    }
    return ServiceStack(
      background: background, servicePort: background.ports[0], upstreamPort: background.ports[1],
      upstreamRequests: tally)
  }

  /// Service in front of a scripted upstream; the tally counts requests by "METHOD path".
  /// `upstreamHost`: the address the scripted upstream listens on (`::1` for IPv6).
  static func withScript(
    upstreamHost: String = "127.0.0.1",
    _ configure: (inout AssemblyConfig) -> Void = { _ in }, script: @escaping Script
  ) throws -> ServiceStack {
    var config = testConfig()
    config.mock.enabled = false
    configure(&config)
    let settings = config
    let tally = Tally()
    let headers = UpstreamHeaderLog()
    let background = try BackgroundLoop { loop in
      let upstream = try ScriptedUpstream.serve(
        on: loop, host: upstreamHost, tally: tally, headers: headers, script: script)
      var serviceConfig = settings.service
      // The configured host (an IP or a name) with the scripted upstream's port.
      serviceConfig.apiBase.port = upstream.port
      let app = try ServiceApp(loop: loop, config: serviceConfig, logger: testLogger(settings))
      return ((upstream, app), [app.port, upstream.port])
    }
    return ServiceStack(
      background: background, servicePort: background.ports[0], upstreamPort: background.ports[1],
      upstreamRequests: tally, upstreamHeaders: headers)
  }

  static func testLogger(_ config: AssemblyConfig) -> Logger {
    Logger(label: "test") { _ in LineLogHandler(level: config.logLevel) }
  }

  func send(_ request: TestRequest) throws -> TestResponse {
    try TestHTTP.send(request, port: servicePort)
  }

  func get(_ path: String) throws -> TestResponse { try send(.get(path)) }

  func postJSON(_ body: String, contentType: String? = "application/json") throws -> TestResponse {
    try send(.postJSON("/addEvent", body, contentType: contentType))
  }

  func sendAll(_ requests: [TestRequest]) throws -> [TestResponse] {
    try TestHTTP.sendAll(requests, port: servicePort)
  }

  func stop() { background.stop() }
}

/// An upstream whose answers a test scripts, on a loop of the test's.
enum ScriptedUpstream {
  /// Serves `script` on `host` (a free port; HTTPS with `tls`), counting
  /// requests by "METHOD path" in `tally` and logging their headers.
  static func serve(
    on loop: EventLoop, host: String, tls: TLSServerContext? = nil,
    limits: HTTPServerLimits = HTTPServerLimits(), tally: Tally, headers: UpstreamHeaderLog,
    script: @escaping ServiceStack.Script
  ) throws -> HTTPServer {
    try HTTPServer(loop: loop, host: host, port: 0, limits: limits, tls: tls) { request in
      let method = request.method.rawValue
      tally.add("\(method) \(request.path)")
      headers.add(
        .init(
          path: request.path, traceparent: request.header("traceparent"),
          requestID: request.header("X-Request-Id"), host: request.header("Host"),
          apiKey: request.header("X-Api-Key")))
      let reply = script(method, request.path, request.body)
      let answer = {
        if reply.drop {
          request.drop()
        } else {
          request.respond(
            status: reply.status, headers: [("Content-Type", "application/json")],
            body: Array(reply.body.utf8))
        }
      }
      if reply.delayMs > 0 { loop.schedule(afterMs: reply.delayMs, answer) } else { answer() }
    }
  }

  /// A scripted upstream alone on its own loop thread (for a service run as
  /// a process): its port, what it was asked, and `stop()`.
  struct Running {
    let background: BackgroundLoop
    let port: Int
    let requests = Tally()
    let headers = UpstreamHeaderLog()

    init(
      host: String = "127.0.0.1", tls: TestCertificates.Pair? = nil,
      limits: HTTPServerLimits = HTTPServerLimits(), script: @escaping ServiceStack.Script
    ) throws {
      let (requests, headers) = (self.requests, self.headers)
      background = try BackgroundLoop { loop in
        let context = try tls.map {
          try TLSServerContext(certificateFile: $0.certificate, keyFile: $0.key)
        }
        let server = try ScriptedUpstream.serve(
          on: loop, host: host, tls: context, limits: limits, tally: requests, headers: headers,
          script: script)
        return (server, [server.port])
      }
      port = background.ports[0]
    }

    func stop() { background.stop() }
  }
}
