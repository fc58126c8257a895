/// `API_BASE`: where the upstream event API listens, as users write it —
/// `http://` or `https://`, a host (a name, an IPv4 address or a bracketed
/// IPv6 address), an optional port (80 / 443) and an optional base path
/// (`https://api.example.com/v1` sends `GET /v1/getUsers`).
public struct UpstreamAddress: Sendable, Equatable, CustomStringConvertible {
  public enum Scheme: String, Sendable {
    case http, https

    var defaultPort: Int { self == .http ? 80 : 443 }
  }

  public var scheme: Scheme
  /// The host without brackets (`::1`, not `[::1]`).
  public var host: String
  public var port: Int
  /// Prepended to every upstream path: empty, or `/v1` (no trailing slash).
  public var basePath: String

  public init(scheme: Scheme = .http, host: String, port: Int, basePath: String = "") {
    self.scheme = scheme
    self.host = host
    self.port = port
    self.basePath = basePath
  }

  public var usesTLS: Bool { scheme == .https }

  /// The host as it goes in a URL or a `Host` header: an IPv6 literal keeps
  /// its brackets.
  var hostInURL: String { host.contains(":") ? "[\(host)]" : host }

  /// The `Host` header (RFC 9110 §7.2): the host as written, with its port
  /// only when it is not the scheme's default.
  public var hostHeader: String {
    port == scheme.defaultPort ? hostInURL : "\(hostInURL):\(port)"
  }

  public var description: String { "\(scheme.rawValue)://\(hostInURL):\(port)\(basePath)" }

  /// Parses `http[s]://host[:port][/base/path][/]`. Userinfo, a query or a
  /// fragment is refused: none of them can mean anything here.
  static func parse(_ text: String) throws(ConfigError) -> UpstreamAddress {
    func failure(_ problem: String) -> ConfigError {
      ConfigError(key: "API_BASE", problem: problem)
    }
    guard let schemeEnd = text.firstRange(of: "://") else {
      throw failure("expected http[s]://host[:port][/path], got \"\(text)\"")
    }
    let written = text[..<schemeEnd.lowerBound].lowercased()
    guard let scheme = Scheme(rawValue: written) else {
      throw failure("unsupported URL scheme \"\(written)\" (http or https)")
    }
    let rest = text[schemeEnd.upperBound...]
    guard !rest.contains("?"), !rest.contains("#") else {
      throw failure("a query or fragment means nothing in a base URL: \"\(text)\"")
    }
    let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
    let authority = rest[..<authorityEnd]
    guard !authority.contains("@") else {
      throw failure("userinfo (user:password@) is not accepted: \"\(text)\"")
    }
    var path = String(rest[authorityEnd...])
    while path.hasSuffix("/") { path.removeLast() }
    guard
      !path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().contains(where: {
        $0.isEmpty || $0 == "." || $0 == ".."
      })
    else {
      throw failure("the base path has an empty, . or .. segment: \"\(text)\"")
    }
    let (host, writtenPort) = try hostAndPort(authority, in: text)
    guard !host.isEmpty else { throw failure("missing host in \"\(text)\"") }
    let port = writtenPort ?? scheme.defaultPort
    guard (1...65535).contains(port) else { throw failure("port \(port) is outside 1...65535") }
    return UpstreamAddress(scheme: scheme, host: host, port: port, basePath: path)
  }

  private static func hostAndPort(_ authority: Substring, in text: String) throws(ConfigError)
    -> (String, Int?)
  {
    func invalidPort() -> ConfigError {
      ConfigError(key: "API_BASE", problem: "invalid port in \"\(text)\"")
    }
    if authority.hasPrefix("[") {
      guard let close = authority.firstIndex(of: "]") else {
        throw ConfigError(key: "API_BASE", problem: "unterminated IPv6 address in \"\(text)\"")
      }
      let host = String(authority[authority.index(after: authority.startIndex)..<close])
      let tail = authority[authority.index(after: close)...]
      guard !tail.isEmpty else { return (host, nil) }
      guard tail.hasPrefix(":"), let port = Int(tail.dropFirst()) else { throw invalidPort() }
      return (host, port)
    }
    guard let colon = authority.lastIndex(of: ":") else { return (String(authority), nil) }
    guard let port = Int(authority[authority.index(after: colon)...]) else { throw invalidPort() }
    return (String(authority[..<colon]), port)
  }
}
