/// `IDEMPOTENCY_STORE`: where idempotency keys live — this instance's
/// memory, or a Redis server every instance shares
/// (`redis://host:port[/db]`).
public enum IdempotencyStoreAddress: Sendable, Equatable, CustomStringConvertible {
  case memory
  case redis(host: String, port: Int, database: Int)

  /// `memory`, or `redis://host[:port][/db]` (port 6379, database 0 by
  /// default); nil for anything else.
  public init?(_ text: String) {
    if text == "memory" {
      self = .memory
      return
    }
    guard text.hasPrefix("redis://") else { return nil }
    var rest = Substring(text.dropFirst("redis://".count))
    var database = 0
    if let slash = rest.firstIndex(of: "/") {
      let path = rest[rest.index(after: slash)...]
      guard path.isEmpty || (path.allSatisfy(\.isNumber) && Int(path)! <= 15) else { return nil }
      database = Int(path) ?? 0
      rest = rest[..<slash]
    }
    var host = String(rest)
    var port = 6379
    if let colon = rest.lastIndex(of: ":") {
      guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65535).contains(parsed)
      else { return nil }
      port = parsed
      host = String(rest[..<colon])
    }
    guard !host.isEmpty, !host.contains("@"), !host.contains("[") else { return nil }
    self = .redis(host: host, port: port, database: database)
  }

  public var description: String {
    switch self {
    case .memory: "memory"
    case .redis(let host, let port, let database):
      "redis://\(host):\(port)" + (database == 0 ? "" : "/\(database)")
    }
  }
}
