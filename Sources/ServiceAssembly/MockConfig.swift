import EventService
import Libevent
import MiniJSON
import MockUpstream
import Settings

/// The `MOCK` object of config.json. The `MOCK` environment variable, if
/// set, holds a JSON object whose keys override the file's one by one.
enum MockConfig {
  /// The settings, and every key read (`MOCK.…`) with its default and with
  /// its effective value.
  static func parse(_ value: JSONValue?, environment: JSONValue?) throws(ConfigError)
    -> (
      MockSettings, defaults: [(key: String, value: JSONValue)],
      effective: [(key: String, value: JSONValue)]
    )
  {
    var members: [(String, JSONValue)] = []
    for layer in [value, environment] {
      guard let layer else { continue }
      guard case .object(let more) = layer else {
        throw ConfigError(key: "MOCK", problem: "expected a JSON object")
      }
      for (key, value) in more {
        members.removeAll { $0.0 == key }
        members.append((key, value))
      }
    }
    var source = try ConfigSource(file: .object(members), environment: [:], prefix: "MOCK.")
    var m = MockSettings()
    m.enabled = try source.bool("ENABLED", default: m.enabled)
    m.host = try source.string("HOST", default: m.host)
    m.port = try source.int("PORT", default: m.port, in: 0...65535)
    m.errorRate = try source.double("ERROR_RATE", default: m.errorRate, in: 0...1)
    m.okCount = try source.int("OK_COUNT", default: m.okCount, in: 0...1_000_000)
    m.failCount = try source.int("FAIL_COUNT", default: m.failCount, in: 0...1_000_000)
    m.failDelayMs = try source.milliseconds("FAIL_DELAY_MS", default: m.failDelayMs)
    m.eventDelayMs = try source.milliseconds("EVENT_DELAY_MS", default: m.eventDelayMs)
    m.slowRate = try source.double("SLOW_RATE", default: m.slowRate, in: 0...1)
    m.slowDelayMs = try source.milliseconds("SLOW_DELAY_MS", default: m.slowDelayMs)
    m.seed = UInt64(try source.int("SEED", default: Int(m.seed), in: 0...Int.max))
    m.extraUsers = try extraUsers(try source.value("EXTRA_USERS", default: .array([])))
    m.tlsCertificateFile = try source.string("TLS_CERT_FILE", default: m.tlsCertificateFile)
    m.tlsKeyFile = try source.string("TLS_KEY_FILE", default: m.tlsKeyFile)
    if m.tlsCertificateFile.isEmpty != m.tlsKeyFile.isEmpty {
      throw ConfigError(key: "MOCK.TLS_KEY_FILE", problem: "set both TLS files or neither")
    }
    if m.servesTLS {
      do {
        _ = try TLSServerContext(certificateFile: m.tlsCertificateFile, keyFile: m.tlsKeyFile)
      } catch {
        throw ConfigError(key: "MOCK.TLS_CERT_FILE", problem: error.description)
      }
    }
    try source.rejectUnknownKeys()
    return (m, source.defaults, source.effective)
  }

  private static func extraUsers(_ value: JSONValue) throws(ConfigError) -> [MockSettings
    .ExtraUser]
  {
    guard let list = value.arrayValue else {
      throw ConfigError(key: "MOCK.EXTRA_USERS", problem: "expected a list")
    }
    var users: [MockSettings.ExtraUser] = []
    for (index, item) in list.enumerated() {
      let key = "MOCK.EXTRA_USERS[\(index)]"
      guard let id = item["id"].flatMap({ $0.stringValue ?? $0.integerText }), !id.isEmpty,
        let text = item["events"]?.integerText, let count = Int(text), (0...100_000).contains(count)
      else {
        throw ConfigError(key: key, problem: #"expected {"id": "...", "events": 0...100000}"#)
      }
      users.append(MockSettings.ExtraUser(id: id, events: count))
    }
    return users
  }
}
