import EventService
import MiniJSON
import MockUpstream
import Settings

/// The whole of `config.json`: the service's keys and the `MOCK` section,
/// which belongs to the embedded mock and is read here, where the two meet.
/// Service keys read through it directly (`config.port`).
@dynamicMemberLookup
public struct AssemblyConfig: Sendable {
  public var service = ServiceConfig()
  public var mock = MockSettings()

  public init() {}

  public subscript<Value>(dynamicMember key: WritableKeyPath<ServiceConfig, Value>) -> Value {
    get { service[keyPath: key] }
    set { service[keyPath: key] = newValue }
  }

  /// Reads `path` (a missing `config.json` means all defaults; a path given
  /// explicitly must exist), then applies environment overrides. Unknown
  /// keys, at the top level or under `MOCK`, are errors.
  public static func load(
    path: String?, environment: [String: String], readFile: (String) -> [UInt8]? = ConfigFile.read
  ) throws(ConfigError) -> AssemblyConfig {
    try read(document(path, readFile), environment: environment).config
  }

  /// What `load` would run with, key by key (`MOCK`'s as `MOCK.KEY`), in
  /// the order they are read: for `--check-config`.
  public static func effective(
    path: String?, environment: [String: String], readFile: (String) -> [UInt8]? = ConfigFile.read
  ) throws(ConfigError) -> [(key: String, value: JSONValue)] {
    try read(document(path, readFile), environment: environment).effective
  }

  /// The parsed file: nil when `config.json` is missing and no path was given.
  private static func document(_ path: String?, _ readFile: (String) -> [UInt8]?)
    throws(ConfigError) -> JSONValue?
  {
    let location = path ?? "config.json"
    guard let bytes = readFile(location) else {
      if path != nil { throw ConfigError(key: location, problem: "cannot read the file") }
      return nil
    }
    do { return try JSONValue.parse(bytes) } catch {
      throw ConfigError(key: location, problem: "not valid JSON (\(error))")
    }
  }

  /// Every key of `config.json` (`MOCK`'s as `MOCK.KEY`) with its default, in
  /// the order they are read: the one list the README, the docs and
  /// `config.json` itself are checked against.
  public static var defaults: [(key: String, value: JSONValue)] {
    (try? read(nil, environment: [:]).defaults) ?? []
  }

  private static func read(_ document: JSONValue?, environment: [String: String])
    throws(ConfigError) -> (
      config: AssemblyConfig, defaults: [(key: String, value: JSONValue)],
      effective: [(key: String, value: JSONValue)]
    )
  {
    var source = try ConfigSource(file: document, environment: environment)
    var config = AssemblyConfig()
    config.service = try ServiceConfig.parse(&source)
    let (mock, mockDefaults, mockEffective) = try MockConfig.parse(
      source.fileValue("MOCK"), environment: source.environmentJSON("MOCK"))
    config.mock = mock
    try source.rejectUnknownKeys()
    // Fake data must never be served by accident: with the mock off, the
    // upstream is named explicitly.
    if config.service.apiBaseFollowsMock && !mock.enabled {
      throw ConfigError(
        key: "API_BASE",
        problem: "must be set (the event API's URL) when MOCK.ENABLED is false")
    }
    return (config, source.defaults + mockDefaults, source.effective + mockEffective)
  }
}
