import ArgumentParser
import Glibc
import Libevent
import MockUpstream

@main
struct EventMockCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "event-mock",
    abstract: "The mock event API alone (the same one event-service embeds).")

  /// The defaults, declared once in `MockSettings` (as the `MOCK` keys'
  /// are); `--help` shows them.
  private static let defaults = MockSettings()

  @Option(help: "Address to bind.") var host = defaults.host
  @Option(help: "Port (0 picks a free one).") var port = defaults.port
  @Option(help: "Probability that GET /getUsers or /getEvents drops the connection.")
  var errorRate = defaults.errorRate
  @Option(help: "Successful POST /addEvent calls at the start of each cycle.")
  var okCount = defaults.okCount
  @Option(help: "Failing POST /addEvent calls after them.") var failCount = defaults.failCount
  @Option(help: "Delay before a failing POST /addEvent answers 503 (ms).")
  var failDelayMs = defaults.failDelayMs
  @Option(help: "Delay of GET /getEventById (ms).") var eventDelayMs = defaults.eventDelayMs
  @Option(help: "Probability that a GET /getEventById waits --slow-delay-ms instead.")
  var slowRate = defaults.slowRate
  @Option(help: "Delay of a slow GET /getEventById (ms).") var slowDelayMs = defaults.slowDelayMs
  @Option(help: "Random seed (dropped connections).") var seed = defaults.seed
  @Option(help: "Extra user owning generated events, as ID:COUNT (repeatable).")
  var extraUser: [String] = []
  @Option(help: "Certificate chain (PEM): serve HTTPS instead of HTTP, with --tls-key.")
  var tlsCert = ""
  @Option(help: "Private key (PEM) of --tls-cert.") var tlsKey = ""
  @Option(
    help:
      "How long to wait on a client: for a request from the accept, and between requests (ms; default 10000 and 20000)."
  )
  var clientTimeoutMs: Int64?
  @Flag(help: "Resume no TLS session: every handshake is a full one.")
  var tlsNoResumption = false

  func validate() throws {
    guard (0...1).contains(errorRate), (0...1).contains(slowRate) else {
      throw ValidationError("--error-rate and --slow-rate must be within 0...1")
    }
    guard okCount >= 0, failCount >= 0, failDelayMs >= 0, eventDelayMs >= 0, slowDelayMs >= 0,
      (clientTimeoutMs ?? 1) > 0
    else {
      throw ValidationError("counts and delays must not be negative")
    }
    _ = try extraUsers()
    guard tlsCert.isEmpty == tlsKey.isEmpty else {
      throw ValidationError("--tls-cert and --tls-key go together")
    }
  }

  func run() throws {
    ProcessSetup.install()
    var settings = MockSettings()
    settings.host = host
    settings.port = port
    settings.errorRate = errorRate
    settings.okCount = okCount
    settings.failCount = failCount
    settings.failDelayMs = failDelayMs
    settings.eventDelayMs = eventDelayMs
    settings.slowRate = slowRate
    settings.slowDelayMs = slowDelayMs
    settings.seed = seed
    settings.extraUsers = try extraUsers()
    settings.tlsCertificateFile = tlsCert
    settings.tlsKeyFile = tlsKey
    settings.tlsResumption = !tlsNoResumption
    settings.clientTimeoutMs = clientTimeoutMs
    ProcessLimits.raiseOpenFileLimit()
    let loop = EventLoop()
    let mock = try MockEventAPI(loop: loop, settings: settings)
    print("event-mock listening on \(settings.servesTLS ? "https" : "http")://\(host):\(mock.port)")
    fflush(nil)
    for signal in [SIGTERM, SIGINT] {
      loop.onSignal(signal) { _ in mock.stop { loop.stop() } }
    }
    loop.run()
    loop.close()
  }

  private func extraUsers() throws -> [MockSettings.ExtraUser] {
    try extraUser.map { spec in
      let parts = spec.split(separator: ":")
      guard parts.count == 2, let count = Int(parts[1]), count >= 0 else {
        throw ValidationError("--extra-user takes ID:COUNT, got \(spec)")
      }
      return MockSettings.ExtraUser(id: String(parts[0]), events: count)
    }
  }
}
