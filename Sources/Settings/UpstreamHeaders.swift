import MiniJSON

/// `UPSTREAM_HEADERS` and `UPSTREAM_HEADERS_FILE` (SPEC section 6): headers
/// sent on every upstream request, an API key typically. Values are secrets:
/// they are never printed (`--check-config` shows `"<redacted>"`), logged or
/// counted.
enum UpstreamHeaders {
  /// Headers the service sets itself; none may be configured.
  static let managed: Set<String> = [
    "host", "content-length", "content-type", "connection", "transfer-encoding", "traceparent",
    "x-request-id",
  ]

  /// The object's headers, checked; the file's entries win over the
  /// variable's, name by name (compared case-insensitively).
  static func parse(inline: JSONValue, filePath: String) throws(ConfigError) -> [(String, String)] {
    var headers = try checked(inline, key: "UPSTREAM_HEADERS")
    if !filePath.isEmpty {
      guard let bytes = ConfigFile.read(filePath) else {
        throw ConfigError(key: "UPSTREAM_HEADERS_FILE", problem: "cannot read \(filePath)")
      }
      let document: JSONValue
      do {
        document = try JSONValue.parse(bytes)
      } catch {
        throw ConfigError(key: "UPSTREAM_HEADERS_FILE", problem: "\(filePath) is not JSON")
      }
      for (name, value) in try checked(document, key: "UPSTREAM_HEADERS_FILE") {
        headers.removeAll { $0.0.lowercased() == name.lowercased() }
        headers.append((name, value))
      }
    }
    return headers
  }

  /// What `--check-config` shows: the names, each value redacted.
  static func redacted(_ value: JSONValue) -> JSONValue {
    guard case .object(let members) = value else { return .string("<redacted>") }
    return .object(members.map { ($0.0, .string("<redacted>")) })
  }

  private static func checked(_ value: JSONValue, key: String) throws(ConfigError)
    -> [(String, String)]
  {
    guard case .object(let members) = value else {
      throw ConfigError(key: key, problem: "expected a JSON object of header name to value")
    }
    var headers: [(String, String)] = []
    for (name, value) in members {
      guard isToken(name) else {
        throw ConfigError(key: key, problem: "\"\(name)\" is not a header name (an HTTP token)")
      }
      guard !managed.contains(name.lowercased()) else {
        throw ConfigError(
          key: key, problem: "\(name) is set by the service and cannot be configured")
      }
      // The value is a secret: the message names the header only.
      guard let text = value.stringValue,
        !text.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 })
      else {
        throw ConfigError(
          key: key, problem: "the value of \(name) must be a string without CR, LF or NUL")
      }
      headers.append((name, text))
    }
    return headers
  }

  /// RFC 9110's `token`.
  private static func isToken(_ name: String) -> Bool {
    !name.isEmpty
      && name.utf8.allSatisfy { byte in
        byte > 32 && byte < 127 && !"\"(),/:;<=>?@[\\]{}".utf8.contains(byte)
      }
  }
}
