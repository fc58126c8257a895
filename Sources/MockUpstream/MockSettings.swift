/// The mock's knobs (docs/api.md, "The mock event API"); the defaults
/// reproduce the original API.
public struct MockSettings: Sendable, Equatable {
  public struct ExtraUser: Sendable, Equatable {
    public var id: String
    public var events: Int

    public init(id: String, events: Int) {
      self.id = id
      self.events = events
    }
  }

  public var enabled = true
  public var host = "127.0.0.1"
  public var port = 3001
  /// Probability that GET /getUsers or /getEvents drops the connection.
  public var errorRate = 0.05
  public var okCount = 5
  public var failCount = 10
  public var failDelayMs: Int64 = 100
  public var eventDelayMs: Int64 = 500
  /// Probability that a GET /getEventById waits `slowDelayMs` instead (a
  /// latency tail; unknown ids too).
  public var slowRate = 0.0
  public var slowDelayMs: Int64 = 5_000
  public var seed: UInt64 = 42
  public var extraUsers: [ExtraUser] = []
  /// PEM files: with both set the mock serves HTTPS instead of HTTP.
  public var tlsCertificateFile = ""
  public var tlsKeyFile = ""
  /// Whether clients may resume TLS sessions (`event-mock --tls-no-resumption`
  /// turns it off, to measure full handshakes).
  public var tlsResumption = true
  /// How long the mock waits on a client (`event-mock --client-timeout-ms`):
  /// for a request's head from the accept, for its body, and between
  /// keep-alive requests. nil: the server's defaults (10 s, 10 s, 20 s).
  public var clientTimeoutMs: Int64?

  public var servesTLS: Bool { !tlsCertificateFile.isEmpty }

  public init() {}
}
