import MiniJSON

/// Where each key's value comes from: the environment variable of the same
/// name wins over the file, which wins over the default. Every key read is
/// recorded, so keys nobody asked for (typos) can be reported.
public struct ConfigSource {
  private let prefix: String
  private let file: [(String, JSONValue)]
  private let environment: [String: String]
  private(set) var consumed: Set<String> = []
  /// Every key read with its default, in order: read from an empty source,
  /// this is the one list of keys and defaults (docs and tests compare
  /// `config.json` and the README against it).
  public private(set) var defaults: [(key: String, value: JSONValue)] = []
  /// Every key read with the value it ended up with (environment, file or
  /// default), in the same order: the effective configuration.
  public private(set) var effective: [(key: String, value: JSONValue)] = []

  public init(file: JSONValue?, environment: [String: String], prefix: String = "")
    throws(ConfigError)
  {
    self.prefix = prefix
    self.environment = environment
    switch file {
    case nil: self.file = []
    case .object(let members)?: self.file = members
    default:
      throw ConfigError(
        key: prefix.isEmpty ? "config" : String(prefix.dropLast()),
        problem: "expected a JSON object")
    }
  }

  /// A key with no typed reader (a list, say): its default is recorded here.
  public mutating func value(_ key: String, default value: JSONValue) throws(ConfigError)
    -> JSONValue
  {
    defaults.append((name(key), value))
    let result = try self.value(key) ?? value
    effective.append((name(key), result))
    return result
  }

  /// A key whose value is a secret: recorded in `effective` as `shown`
  /// (the names of the secrets, their values redacted).
  public mutating func secret(
    _ key: String, default value: JSONValue, shown: (JSONValue) -> JSONValue
  ) throws(ConfigError) -> JSONValue {
    defaults.append((name(key), value))
    let result = try self.value(key) ?? value
    effective.append((name(key), shown(result)))
    return result
  }

  /// The raw value of `key`; environment text is read as JSON when it parses
  /// as JSON, else as a plain string.
  public mutating func value(_ key: String) throws(ConfigError) -> JSONValue? {
    consumed.insert(key)
    if prefix.isEmpty, let text = environment[key] {
      return (try? JSONValue.parse(text)) ?? .string(text)
    }
    return file.first { $0.0 == key }?.1
  }

  /// The file's value only (for keys whose environment variable is read elsewhere).
  public mutating func fileValue(_ key: String) -> JSONValue? {
    consumed.insert(key)
    return file.first { $0.0 == key }?.1
  }

  public func rejectUnknownKeys() throws(ConfigError) {
    if let unknown = file.first(where: { !consumed.contains($0.0) }) {
      throw ConfigError(key: prefix + unknown.0, problem: "unknown key")
    }
  }

  public func name(_ key: String) -> String { prefix + key }

  /// The environment variable `key` read as JSON, if set (for a section
  /// such as `MOCK` whose keys override the file's one by one).
  public func environmentJSON(_ key: String) -> JSONValue? {
    guard prefix.isEmpty, let text = environment[key] else { return nil }
    return (try? JSONValue.parse(text)) ?? .string(text)
  }

  public mutating func int(_ key: String, default value: Int, in range: ClosedRange<Int>)
    throws(ConfigError) -> Int
  {
    defaults.append((name(key), .int(value)))
    guard let raw = try self.value(key) else { return recorded(key, value, as: JSONValue.int) }
    guard let text = raw.integerText, let number = Int(text) else {
      throw ConfigError(key: name(key), problem: "expected an integer, got \(raw.serialized)")
    }
    guard range.contains(number) else {
      throw ConfigError(
        key: name(key), problem: "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
    }
    return recorded(key, number, as: JSONValue.int)
  }

  /// A duration in milliseconds; negative values are refused.
  public mutating func milliseconds(_ key: String, default value: Int64, minimum: Int = 0)
    throws(ConfigError) -> Int64
  {
    Int64(try int(key, default: Int(value), in: minimum...Int(Int32.max)))
  }

  public mutating func double(_ key: String, default value: Double, in range: ClosedRange<Double>)
    throws(ConfigError) -> Double
  {
    defaults.append((name(key), .number(String(value))))
    guard let raw = try self.value(key) else {
      return recorded(key, value) { .number(String($0)) }
    }
    guard case .number(let text) = raw, let number = Double(text) else {
      throw ConfigError(key: name(key), problem: "expected a number, got \(raw.serialized)")
    }
    guard range.contains(number) else {
      throw ConfigError(
        key: name(key), problem: "\(text) is outside \(range.lowerBound)...\(range.upperBound)")
    }
    return recorded(key, number) { _ in raw }
  }

  public mutating func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
    defaults.append((name(key), .bool(value)))
    guard let raw = try self.value(key) else { return recorded(key, value, as: JSONValue.bool) }
    switch raw {
    case .bool(let flag): return recorded(key, flag, as: JSONValue.bool)
    case .number("1"): return recorded(key, true, as: JSONValue.bool)
    case .number("0"): return recorded(key, false, as: JSONValue.bool)
    default:
      throw ConfigError(key: name(key), problem: "expected true or false, got \(raw.serialized)")
    }
  }

  public mutating func string(_ key: String, default value: String) throws(ConfigError) -> String {
    defaults.append((name(key), .string(value)))
    if prefix.isEmpty, let text = environment[key] {
      consumed.insert(key)
      return recorded(key, text, as: JSONValue.string)
    }
    guard let raw = try self.value(key) else { return recorded(key, value, as: JSONValue.string) }
    guard let text = raw.stringValue else {
      throw ConfigError(key: name(key), problem: "expected a string, got \(raw.serialized)")
    }
    return recorded(key, text, as: JSONValue.string)
  }

  private mutating func recorded<T>(_ key: String, _ value: T, as json: (T) -> JSONValue) -> T {
    effective.append((name(key), json(value)))
    return value
  }
}
