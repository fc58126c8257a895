/// One budget for the bytes the service holds at once on behalf of its
/// requests — request bodies, upstream bodies kept for a reply, replies not
/// yet written to slow clients — so that no mix of clients and upstream can
/// grow the process without bound. Past it, work is shed (503 `overloaded`)
/// instead of buffered.
///
/// Pure: bytes in, decisions out. Replies handed to the HTTP server are
/// counted by the server, not here; every question takes them as `elsewhere`.
public struct MemoryBudget: Sendable {
  public let limit: Int
  /// Bytes taken here and not yet given back.
  public private(set) var held = 0

  public init(limit: Int) { self.limit = max(0, limit) }

  /// Whether a new request may start: some room is left.
  public func admitsNew(elsewhere: Int) -> Bool { held + elsewhere < limit }

  /// Whether `bytes` more would fit, without taking them (a reply, which the
  /// server then counts).
  public func fits(_ bytes: Int, elsewhere: Int) -> Bool { held + elsewhere + bytes <= limit }

  /// Takes `bytes` if they fit; false (nothing taken) if not.
  public mutating func take(_ bytes: Int, elsewhere: Int) -> Bool {
    guard fits(bytes, elsewhere: elsewhere) else { return false }
    held += bytes
    return true
  }

  public mutating func give(_ bytes: Int) { held = max(0, held - bytes) }
}
