import EventService
import MiniJSON
import MockUpstream

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
    let location = path ?? "config.json"
    var document: JSONValue?
    if let bytes = readFile(location) {
      do { document = try JSONValue.parse(bytes) } catch {
        throw ConfigError(key: location, problem: "not valid JSON (\(error))")
      }
    } else if path != nil {
      throw ConfigError(key: location, problem: "cannot read the file")
    }
    return try read(document, environment: environment).config
  }

  /// Every key of `config.json` (`MOCK`'s as `MOCK.KEY`) with its default, in
  /// the order they are read: the one list the README, the docs and
  /// `config.json` itself are checked against.
  public static var defaults: [(key: String, value: JSONValue)] {
    (try? read(nil, environment: [:]).defaults) ?? []
  }

  private static func read(_ document: JSONValue?, environment: [String: String])
    throws(ConfigError) -> (config: AssemblyConfig, defaults: [(key: String, value: JSONValue)])
  {
    var source = try ConfigSource(file: document, environment: environment)
    var config = AssemblyConfig()
    config.service = try ServiceConfig.parse(&source)
    let (mock, mockDefaults) = try MockConfig.parse(
      source.fileValue("MOCK"), environment: source.environmentJSON("MOCK"))
    config.mock = mock
    try source.rejectUnknownKeys()
    return (config, source.defaults + mockDefaults)
  }
}
