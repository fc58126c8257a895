/// `API_BASE`: where the upstream event API listens. Only plain `http://host[:port]`.
public struct UpstreamAddress: Sendable, Equatable, CustomStringConvertible {
  public var host: String
  public var port: Int

  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  public var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

  /// Parses `http://host[:port][/]`.
  static func parse(_ text: String) throws(ConfigError) -> UpstreamAddress {
    func failure(_ problem: String) -> ConfigError {
      ConfigError(key: "API_BASE", problem: problem)
    }
    guard let schemeEnd = text.firstRange(of: "://") else {
      throw failure("expected http://host:port, got \"\(text)\"")
    }
    let scheme = text[..<schemeEnd.lowerBound].lowercased()
    guard scheme == "http" else {
      throw failure("unsupported URL scheme \"\(scheme)\" (only http)")
    }
    var rest = Substring(text[schemeEnd.upperBound...])
    if rest.hasSuffix("/") { rest = rest.dropLast() }
    guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else {
      throw failure("expected http://host:port with no path, got \"\(text)\"")
    }
    var host = rest
    var port = 80
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else { throw failure("unterminated IPv6 address") }
      host = rest[rest.index(after: rest.startIndex)..<close]
      let tail = rest[rest.index(after: close)...]
      if !tail.isEmpty {
        guard tail.hasPrefix(":"), let p = Int(tail.dropFirst()) else {
          throw failure("invalid port in \"\(text)\"")
        }
        port = p
      }
    } else if let colon = rest.lastIndex(of: ":") {
      host = rest[..<colon]
      guard let p = Int(rest[rest.index(after: colon)...]) else {
        throw failure("invalid port in \"\(text)\"")
      }
      port = p
    }
    guard !host.isEmpty else { throw failure("missing host in \"\(text)\"") }
    guard (1...65535).contains(port) else { throw failure("port \(port) is outside 1...65535") }
    return UpstreamAddress(host: String(host), port: port)
  }
}
