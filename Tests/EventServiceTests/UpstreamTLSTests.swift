import Foundation
import Libevent
import MiniJSON
import Testing

/// SPEC section 6 through real TLS, against the release binary: a
/// throwaway CA and certificates (`TestCertificates`), a scripted upstream
/// serving HTTPS, and a nameserver of the test's own (`FakeDNS`).
@Suite("HTTPS upstreams (release binary)")
struct UpstreamTLSTests {
  /// Answers every route: three events for any user.
  static let script: ServiceStack.Script = { method, path, _ in
    if method == "POST" { return ScriptedReply(body: "{}") }
    if path.hasSuffix("/getUsers") || path.hasSuffix("/getEvents") {
      return ScriptedReply(body: "[]")
    }
    if let range = path.firstRange(of: "/getUserById/") {
      let user = path[range.upperBound...]
      return ScriptedReply(body: #"{"events":["\#(user)-1","\#(user)-2","\#(user)-3"]}"#)
    }
    let id = path.split(separator: "/").last.map(String.init) ?? ""
    return ScriptedReply(body: #"{"id":"\#(id)"}"#)
  }

  private func start(_ environment: [String: String]) throws -> RunningService {
    try RunningService(
      environment: ["PORT": "0", "LOG_LEVEL": "info", "MOCK": #"{"ENABLED": false}"#].merging(
        environment
      ) { _, own in own })
  }

  /// Stops the service and returns everything it logged.
  private func logOf(_ service: inout RunningService) -> String {
    kill(service.process.processIdentifier, SIGTERM)
    _ = service.waitForExit(limit: 10)
    return service.log
  }

  /// The four endpoints, each 200; `user` lists `events` events.
  static func expectEveryEndpointAnswers(port: Int, user: String, events count: Int) throws {
    #expect(try TestHTTP.send(.get("/getUsers"), port: port).status == 200)
    #expect(try TestHTTP.send(.get("/getEvents"), port: port).status == 200)
    let events = try TestHTTP.send(.get("/getEventsByUserId/\(user)"), port: port)
    #expect(events.status == 200)
    #expect(events.json?.arrayValue?.count == count)
    let added = try TestHTTP.send(.postJSON("/addEvent", #"{"name":"n","userId":1}"#), port: port)
    #expect(added.status == 200)
  }

  /// Starts the service with `environment`, expects GET /getUsers to be
  /// 502, and gives the count of getUsers attempts with `outcome` and the log.
  private func failedRead(_ environment: [String: String], outcome: String) throws -> (
    attempts: Int, log: String
  ) {
    var service = try start(environment)
    defer { if service.process.isRunning { service.process.terminate() } }
    let response = try TestHTTP.send(.get("/getUsers"), port: service.port)
    #expect(response.status == 502)
    let metrics = String(
      decoding: try TestHTTP.send(.get("/metrics"), port: service.port).body, as: UTF8.self)
    let attempts = metric(
      metrics, #"event_service_upstream_requests_total{route="getUsers",outcome="\#(outcome)"}"#)
    return (attempts, logOf(&service))
  }

  private func metric(_ text: String, _ series: String) -> Int {
    let line = text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
    return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
  }

  /// A trusted chain: every route works under a base path, the API key from
  /// a file reaches every request and never the log, and new connections
  /// resume the first one's session.
  @Test func aTrustedChainServesEveryRoute() throws {
    let certificates = try TestCertificates.get()
    let upstream = try ScriptedUpstream.Running(tls: certificates.server, script: Self.script)
    defer { upstream.stop() }
    let keyFile = certificates.directory + "/api-key-\(upstream.port).json"
    try #"{"X-Api-Key": "key-4d1f-secret"}"#.write(
      toFile: keyFile, atomically: true, encoding: .utf8)
    var service = try start([
      "API_BASE": "https://localhost:\(upstream.port)/v1",
      "UPSTREAM_CA_FILE": certificates.caFile, "UPSTREAM_HEADERS_FILE": keyFile,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    let port = service.port
    try Self.expectEveryEndpointAnswers(port: port, user: "u", events: 3)
    let metrics = String(
      decoding: try TestHTTP.send(.get("/metrics"), port: port).body, as: UTF8.self)
    let full = metric(metrics, #"event_service_upstream_tls_handshakes_total{session="full"}"#)
    let resumed = metric(
      metrics, #"event_service_upstream_tls_handshakes_total{session="resumed"}"#)
    #expect(full >= 1)
    // The fan-out and the POST opened new connections after the first
    // had its session ticket.
    #expect(resumed >= 2, "full \(full), resumed \(resumed)")
    let seen = upstream.headers.all
    #expect(seen.count == 7)
    #expect(seen.allSatisfy { $0.path.hasPrefix("/v1/") })
    #expect(seen.allSatisfy { $0.apiKey == "key-4d1f-secret" })
    #expect(seen.allSatisfy { $0.host == "localhost:\(upstream.port)" })
    let log = logOf(&service)
    #expect(!log.contains("key-4d1f-secret"))
    #expect(!metrics.contains("key-4d1f-secret"))
  }

  /// Each failure is a connection failure whose log line says why; no
  /// request reaches the upstream.
  @Test(arguments: [
    ("unknown CA", "certificate verify failed: unable to get local issuer certificate"),
    ("wrong name", "certificate verify failed: hostname mismatch"),
    ("expired", "certificate verify failed: certificate has expired"),
  ])
  func aCertificateThatDoesNotVerifyFails(kind: String, reason: String) throws {
    let certificates = try TestCertificates.get()
    let pair =
      switch kind {
      case "unknown CA": certificates.unknownCA
      case "wrong name": certificates.wrongName
      default: certificates.expired
      }
    let upstream = try ScriptedUpstream.Running(tls: pair, script: Self.script)
    defer { upstream.stop() }
    let (attempts, log) = try failedRead(
      [
        "API_BASE": "https://localhost:\(upstream.port)", "UPSTREAM_CA_FILE": certificates.caFile,
        "GET_RETRIES": "1",
      ], outcome: "tls_error")
    #expect(attempts == 2)
    #expect(upstream.requests.total == 0)
    #expect(
      log.contains(#"msg="upstream TLS handshake failed" cause=tls_error reason="\#(reason)""#))
  }

  /// An IP literal is verified against the certificate's IP addresses, and
  /// an IPv6 one keeps its brackets in `Host`.
  @Test func anIPv6UpstreamIsVerifiedAsAnAddress() throws {
    let certificates = try TestCertificates.get()
    let upstream = try ScriptedUpstream.Running(
      host: "::1", tls: certificates.server, script: Self.script)
    defer { upstream.stop() }
    var service = try start([
      "API_BASE": "https://[::1]:\(upstream.port)", "UPSTREAM_CA_FILE": certificates.caFile,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    #expect(try TestHTTP.send(.get("/getUsers"), port: service.port).status == 200)
    #expect(upstream.headers.all.map(\.host) == ["[::1]:\(upstream.port)"])
    _ = logOf(&service)
  }

  /// `api.test` resolves to a dead address first (nothing listens on
  /// 127.0.0.3): the connection moves on to the next within the attempt.
  @Test func aNameWithADeadFirstAddressStillWorks() throws {
    let certificates = try TestCertificates.get()
    let dns = try FakeDNS(records: ["api.test": ["127.0.0.3", "127.0.0.1"]])
    defer { dns.stop() }
    let upstream = try ScriptedUpstream.Running(tls: certificates.server, script: Self.script)
    defer { upstream.stop() }
    var service = try start([
      "API_BASE": "https://api.test:\(upstream.port)", "UPSTREAM_CA_FILE": certificates.caFile,
      "RESOLV_CONF": dns.resolvConf, "GET_RETRIES": "0",
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    #expect(try TestHTTP.send(.get("/getUsers"), port: service.port).status == 200)
    let added = try TestHTTP.send(
      .postJSON("/addEvent", #"{"name":"n","userId":1}"#), port: service.port)
    #expect(added.status == 200)
    #expect(
      upstream.headers.all.map(\.host) == Array(repeating: "api.test:\(upstream.port)", count: 2))
    #expect(dns.queries["api.test"] >= 2, "a lookup per new connection")
    let log = logOf(&service)
    #expect(!log.contains("level=warning"), "\(log)")
  }

  /// A name that does not resolve is named as such, in the log and in
  /// `/metrics` — not "connection closed".
  @Test func aNameThatDoesNotResolveIsADNSError() throws {
    let dns = try FakeDNS(records: [:])
    defer { dns.stop() }
    var service = try start([
      "API_BASE": "http://missing.test:9", "RESOLV_CONF": dns.resolvConf, "GET_RETRIES": "0",
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    let response = try TestHTTP.send(.get("/getUsers"), port: service.port)
    #expect(response.status == 502)
    #expect(response.json?["message"]?.stringValue?.contains("did not resolve") == true)
    let metrics = String(
      decoding: try TestHTTP.send(.get("/metrics"), port: service.port).body, as: UTF8.self)
    #expect(
      metric(
        metrics, #"event_service_upstream_requests_total{route="getUsers",outcome="dns_error"}"#)
        == 1)
    let log = logOf(&service)
    #expect(
      log.contains(#"msg="upstream name did not resolve" cause=dns_error reason="missing.test"#))
  }

  /// A nameserver that never answers: the attempt's deadline passes while
  /// the name is still being looked up, which is a DNS failure (the
  /// resolver's), not the upstream's timeout.
  @Test func aResolverThatNeverAnswersIsADNSError() throws {
    let (silent, port) = try TestSocket.bound(SOCK_DGRAM)
    defer { close(silent) }
    let resolvConf = FileManager.default.temporaryDirectory
      .appendingPathComponent("resolv-silent-\(getpid())-\(port).conf").path
    try "nameserver 127.0.0.1:\(port)\noptions timeout:5 attempts:1\n"
      .write(toFile: resolvConf, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: resolvConf) }
    let (attempts, log) = try failedRead(
      [
        "API_BASE": "http://silent.test:9", "RESOLV_CONF": resolvConf, "GET_RETRIES": "0",
        "UPSTREAM_TIMEOUT_MS": "300",
      ], outcome: "dns_error")
    #expect(attempts == 1)
    #expect(log.contains(#"reason="no answer from the resolver in time""#), "\(log)")
    #expect(log.contains("upstream_cause=dns_error upstream_failures=dns_error:1"), "\(log)")
  }

  /// The upstream closes idle connections after 50 ms; every read still
  /// answers, on new connections that resume the session.
  @Test func keepAliveSurvivesTheUpstreamClosingIdleConnections() throws {
    let certificates = try TestCertificates.get()
    let upstream = try ScriptedUpstream.Running(
      tls: certificates.server, limits: HTTPServerLimits(idleTimeoutMs: 50), script: Self.script)
    defer { upstream.stop() }
    var service = try start([
      "API_BASE": "https://localhost:\(upstream.port)", "UPSTREAM_CA_FILE": certificates.caFile,
      "COALESCE_GETS": "false",
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    var statuses: [Int] = []
    for index in 0..<8 {
      statuses.append(
        try TestHTTP.send(.get("/getEventsByUserId/u\(index)"), port: service.port).status)
      usleep(150_000)
    }
    #expect(statuses == Array(repeating: 200, count: 8))
    let metrics = String(
      decoding: try TestHTTP.send(.get("/metrics"), port: service.port).body, as: UTF8.self)
    #expect(
      metric(metrics, #"event_service_upstream_tls_handshakes_total{session="resumed"}"#) >= 1)
    _ = logOf(&service)
  }

  /// SIGTERM with TLS fetches in flight: each is answered, then exit 0.
  @Test func sigtermDrainsTLSRequestsInFlight() throws {
    let certificates = try TestCertificates.get()
    let upstream = try ScriptedUpstream.Running(tls: certificates.server) { method, path, body in
      var reply = Self.script(method, path, body)
      if path.contains("/getEventById/") { reply.delayMs = 300 }
      return reply
    }
    defer { upstream.stop() }
    var service = try start([
      "API_BASE": "https://localhost:\(upstream.port)", "UPSTREAM_CA_FILE": certificates.caFile,
      "SHUTDOWN_GRACE_MS": "5000",
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    let sockets = try (0..<4).map {
      try TestHTTP.open(.get("/getEventsByUserId/user\($0)"), port: service.port)
    }
    // Every fan-out is at the upstream (3 events each) before the signal.
    let waitStart = Date()
    while upstream.requests.total < 16 && Date().timeIntervalSince(waitStart) < 10 {
      usleep(10_000)
    }
    kill(service.process.processIdentifier, SIGTERM)
    let answers = try sockets.map { try TestHTTP.receive(on: $0) }
    #expect(answers.map(\.status) == [200, 200, 200, 200])
    #expect(answers.allSatisfy { $0.json?.arrayValue?.count == 3 })
    let (exited, _) = service.waitForExit(limit: 10)
    #expect(exited)
    #expect(service.process.terminationStatus == 0)
  }

  /// The README's HTTPS quick start: `./scripts/run.sh --tls` serves all
  /// four endpoints with the embedded mock on HTTPS, a CA file of its own
  /// and an API key read from a file.
  @Test func theQuickStartOverHTTPSAnswersEveryEndpoint() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("tls-demo-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var service = try RunningService(
      environment: [
        "PORT": "0", "TLS_DEMO_DIR": directory,
        "MOCK": #"{"PORT": 0, "ERROR_RATE": 0, "EVENT_DELAY_MS": 20}"#,
      ], script: ["scripts/run.sh", "--tls"])
    defer { if service.process.isRunning { service.process.terminate() } }
    try Self.expectEveryEndpointAnswers(port: service.port, user: "1", events: 2)
    let key = try String(contentsOfFile: directory + "/api-key.json", encoding: .utf8)
    let log = logOf(&service)
    #expect(log.contains("tls=true"))
    #expect(log.contains("upstream=https://"))
    // The one warning: the quick start serves the mock's fake data.
    let warnings = log.split(separator: "\n").filter { $0.contains("level=warning") }
    #expect(warnings.allSatisfy { $0.contains("serving the embedded mock's data") }, "\(log)")
    #expect(!log.contains(key.split(separator: "\"")[3]))
  }
}
