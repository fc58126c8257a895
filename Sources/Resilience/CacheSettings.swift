/// `STALE_IF_ERROR_MS`, `CACHE_TTL_MS` and `CACHE_MAX_BYTES`: when a kept
/// answer may stand in for a failed upstream GET (RFC 5861
/// `stale-if-error`), when it may be served without asking, and the bytes
/// all kept answers may hold.
public struct CacheSettings: Sendable, Equatable {
  public var staleIfErrorMs: Int64 = 0
  public var ttlMs: Int64 = 0
  public var maxBytes = 16_777_216

  public init(staleIfErrorMs: Int64 = 0, ttlMs: Int64 = 0, maxBytes: Int = 16_777_216) {
    self.staleIfErrorMs = staleIfErrorMs
    self.ttlMs = ttlMs
    self.maxBytes = maxBytes
  }

  /// Whether answers are kept at all.
  public var isOn: Bool { (staleIfErrorMs > 0 || ttlMs > 0) && maxBytes > 0 }

  /// A cache for these settings, or nil when they keep nothing.
  public func makeCache<Value>(of: Value.Type) -> ResponseCache<Value>? {
    isOn ? ResponseCache(maxBytes: maxBytes, retainMs: max(staleIfErrorMs, ttlMs)) : nil
  }
}
