import Foundation
import ServiceAssembly
import Settings
import Testing

@testable import EventService

@Suite("config.json and environment overrides")
struct ConfigTests {
  private func load(_ json: String?, env: [String: String] = [:], path: String? = nil)
    throws(ConfigError) -> AssemblyConfig
  {
    try AssemblyConfig.load(path: path, environment: env) { _ in json.map { Array($0.utf8) } }
  }

  private func problem(_ json: String?, env: [String: String] = [:]) -> ConfigError? {
    do {
      _ = try load(json, env: env)
      return nil
    } catch { return error }
  }

  @Test func missingFileMeansDefaults() throws {
    let config = try load(nil)
    #expect(config.port == 3000)
    #expect(config.host == "127.0.0.1")
    #expect(config.apiBase == UpstreamAddress(host: "127.0.0.1", port: 3001))
    #expect(config.breaker.failureThreshold == 3)
    #expect(config.breaker.failureWindowMs == 30_000)
    #expect(config.breaker.backoffMs == 5_000)
    #expect(config.retry.retries == 2)
    #expect(
      config.mock.enabled && config.mock.port == 3001 && config.mock.okCount == 5
        && config.mock.failCount == 10)
    #expect(config.mock.eventDelayMs == 500 && config.mock.errorRate == 0.05)
  }

  @Test func fileValuesAndEnvironmentOverrides() throws {
    let json =
      #"{"PORT": 4000, "BACKOFF_MS": 200, "MOCK": {"PORT": 4001, "EXTRA_USERS": [{"id": "big", "events": 3}]}}"#
    let config = try load(
      json,
      env: [
        "PORT": "5000", "HOST": "0.0.0.0", "COALESCE_GETS": "false", "MOCK": #"{"OK_COUNT": 1}"#,
      ])
    #expect(config.port == 5000)
    #expect(config.host == "0.0.0.0")
    #expect(config.coalesceGets == false)
    #expect(config.breaker.backoffMs == 200)
    #expect(config.mock.port == 4001)
    #expect(config.mock.okCount == 1)
    #expect(config.mock.extraUsers == [.init(id: "big", events: 3)])
  }

  @Test func apiBaseAcceptsNamesAndIPv6() throws {
    #expect(
      try load(#"{"API_BASE": "http://localhost:8080/"}"#).apiBase
        == UpstreamAddress(host: "localhost", port: 8080))
    #expect(
      try load(#"{"API_BASE": "http://[::1]:9"}"#).apiBase == UpstreamAddress(host: "::1", port: 9))
    #expect(try load(#"{"API_BASE": "http://events.internal"}"#).apiBase.port == 80)
  }

  @Test func upstreamHeadersFromTheVariableAndTheFileWhichWins() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
      "upstream-headers-\(getpid()).json")
    try Data(#"{"x-api-key": "from-file", "X-Tenant": "t1"}"#.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let config = try load(
      #"{"UPSTREAM_HEADERS": {"X-Api-Key": "inline", "Accept": "application/json"}}"#,
      env: ["UPSTREAM_HEADERS_FILE": file.path])
    #expect(
      config.service.upstreamHeaders.map { "\($0.0)=\($0.1)" }
        == ["Accept=application/json", "x-api-key=from-file", "X-Tenant=t1"])
  }

  /// Each refused with exit 2 naming the key, and never the value.
  @Test(arguments: [
    #"{"UPSTREAM_HEADERS": {"Bad Name": "secret-1"}}"#,
    #"{"UPSTREAM_HEADERS": {"Host": "secret-2"}}"#,
    #"{"UPSTREAM_HEADERS": {"X-Request-Id": "secret-3"}}"#,
    #"{"UPSTREAM_HEADERS": {"X-Key": "secret\r\nX-Injected: 4"}}"#,
    #"{"UPSTREAM_HEADERS": {"X-Key": 5}}"#,
    #"{"UPSTREAM_HEADERS": ["X-Key"]}"#,
    #"{"UPSTREAM_HEADERS_FILE": "/nonexistent/headers.json"}"#,
  ])
  func badUpstreamHeadersAreRefused(json: String) {
    let error = problem(json)
    #expect(error?.key.hasPrefix("UPSTREAM_HEADERS") == true, "\(json)")
    #expect(error.map { !$0.description.contains("secret") } == true)
  }

  /// API_BASE as users write it (SPEC section 6): a base path, trailing
  /// slashes ignored, and the `Host` header the upstream gets.
  @Test(
    arguments: [
      ("http://api.example.com/v1", "api.example.com", 80, "/v1", "api.example.com"),
      (
        "http://api.example.com:8080/v1/events/", "api.example.com", 8080, "/v1/events",
        "api.example.com:8080"
      ),
      ("http://10.0.0.7/", "10.0.0.7", 80, "", "10.0.0.7"),
      ("http://[::1]:3001", "::1", 3001, "", "[::1]:3001"),
      ("http://[2001:db8::1]/base", "2001:db8::1", 80, "/base", "[2001:db8::1]"),
    ] as [(String, String, Int, String, String)])
  func apiBaseWithPathsAndHosts(
    text: String, host: String, port: Int, basePath: String, hostHeader: String
  ) throws {
    let address = try load(#"{"API_BASE": "\#(text)"}"#).apiBase
    #expect(address == UpstreamAddress(host: host, port: port, basePath: basePath))
    #expect(address.hostHeader == hostHeader)
  }

  @Test(arguments: [
    (#"{"PORT": "abc"}"#, "PORT"), (#"{"PORT": 70000}"#, "PORT"),
    (#"{"BACKOFF_MS": -1}"#, "BACKOFF_MS"),
    (#"{"FAILURE_WINDOW_MS": 1.5}"#, "FAILURE_WINDOW_MS"),
    (#"{"API_BASE": "ftp://x:1"}"#, "API_BASE"),
    (#"{"UPSTREAM_CA_FILE": "/nonexistent/ca.pem"}"#, "UPSTREAM_CA_FILE"),
    (#"{"MOCK": {"TLS_CERT_FILE": "/nonexistent/cert.pem"}}"#, "MOCK.TLS_KEY_FILE"),
    (#"{"API_BASE": "ftp://x"}"#, "API_BASE"), (#"{"API_BASE": "http://u:p@x:1"}"#, "API_BASE"),
    (#"{"API_BASE": "http://x/v1?a=1"}"#, "API_BASE"),
    (#"{"API_BASE": "http://x/#top"}"#, "API_BASE"),
    (#"{"API_BASE": "http://x/v1/../admin"}"#, "API_BASE"),
    (#"{"API_BASE": "http://[::1"}"#, "API_BASE"),
    (#"{"LOG_LEVEL": "loud"}"#, "LOG_LEVEL"), (#"{"COALESCE_GETS": "yes"}"#, "COALESCE_GETS"),
    (#"{"PROT": 1}"#, "PROT"), (#"{"MOCK": {"ERROR_RATE": 2}}"#, "MOCK.ERROR_RATE"),
    (#"{"MOCK": {"EXTRA_USERS": [{"id": "x"}]}}"#, "MOCK.EXTRA_USERS[0]"),
    (#"{"MOCK": {"PORTT": 1}}"#, "MOCK.PORTT"),
    (#"{"MOCK": 3}"#, "MOCK"), (#"{"BACKOFF_MS": 5000, "BACKOFF_MAX_MS": 10}"#, "BACKOFF_MAX_MS"),
    (#"{"RETRY_BASE_MS": -5}"#, "RETRY_BASE_MS"), ("not json", "config.json"), ("[1]", "config"),
  ])
  func badValuesNameTheKey(json: String, key: String) {
    #expect(problem(json)?.key == key)
  }

  @Test func badEnvironmentValueNamesTheKey() {
    #expect(problem(nil, env: ["UPSTREAM_TIMEOUT_MS": "-3"])?.key == "UPSTREAM_TIMEOUT_MS")
    #expect(problem(nil, env: ["GET_RETRIES": "two"])?.key == "GET_RETRIES")
  }

  @Test func anExplicitPathMustExist() {
    do {
      _ = try load(nil, path: "/nonexistent.json")
      Issue.record("expected an error")
    } catch {
      #expect(error.key == "/nonexistent.json")
    }
  }
}
