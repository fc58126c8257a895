/// Answers kept for bad times (and, with a TTL, for good ones): values by
/// key, bounded by the bytes they hold, the least recently used evicted
/// first. Ages come from the time passed in; nothing here reads a clock.
///
/// Entries live in one array linked by index (most recently used first),
/// found through a dictionary: storing, finding and evicting are O(1) and
/// allocate nothing once the array has grown.
public struct ResponseCache<Value> {
  public struct Hit {
    public let value: Value
    /// Milliseconds since the value was stored.
    public let ageMs: Int64
  }

  private struct Entry {
    var key: String
    var value: Value?
    var bytes: Int
    var storedAtMs: Int64
    var newer: Int
    var older: Int
  }

  public let maxBytes: Int
  /// Entries older than this are of no use to anyone: dropped when found.
  public let retainMs: Int64
  public private(set) var bytes = 0
  private var index: [String: Int] = [:]
  private var entries: [Entry] = []
  private var free: [Int] = []
  private var newest = -1
  private var oldest = -1

  public init(maxBytes: Int, retainMs: Int64) {
    self.maxBytes = max(0, maxBytes)
    self.retainMs = retainMs
  }

  public var count: Int { index.count }

  /// Keeps `value` (its size `bytes`) under `key`, replacing what was
  /// there; evicts the least recently used until everything fits. A value
  /// larger than the whole cache is not kept (and the old one is dropped).
  public mutating func store(_ key: String, _ value: Value, bytes size: Int, now: Int64) {
    if let slot = index[key] {
      guard size <= maxBytes else {
        remove(slot)
        return
      }
      // Kept again (the common case: the same GET answered anew): in place,
      // no rehashing.
      bytes += size - entries[slot].bytes
      entries[slot].value = value
      entries[slot].bytes = size
      entries[slot].storedAtMs = now
      touch(slot)
      while bytes > maxBytes, oldest >= 0, oldest != slot { remove(oldest) }
      return
    }
    guard size <= maxBytes else { return }
    while bytes + size > maxBytes, oldest >= 0 { remove(oldest) }
    let entry = Entry(
      key: key, value: value, bytes: size, storedAtMs: now, newer: -1, older: newest)
    let slot: Int
    if let reused = free.popLast() {
      slot = reused
      entries[slot] = entry
    } else {
      slot = entries.count
      entries.append(entry)
    }
    if newest >= 0 { entries[newest].newer = slot }
    newest = slot
    if oldest < 0 { oldest = slot }
    index[key] = slot
    bytes += size
  }

  /// The value under `key` if it is at most `maxAgeMs` old, marked as just
  /// used. An entry past `retainMs` is dropped.
  public mutating func lookup(_ key: String, maxAgeMs: Int64, now: Int64) -> Hit? {
    guard let slot = index[key] else { return nil }
    let age = now - entries[slot].storedAtMs
    if age > retainMs {
      remove(slot)
      return nil
    }
    guard age <= maxAgeMs, let value = entries[slot].value else { return nil }
    touch(slot)
    return Hit(value: value, ageMs: max(0, age))
  }

  private mutating func touch(_ slot: Int) {
    guard slot != newest else { return }
    unlink(slot)
    entries[slot].newer = -1
    entries[slot].older = newest
    entries[newest].newer = slot
    newest = slot
    if oldest < 0 { oldest = slot }
  }

  private mutating func unlink(_ slot: Int) {
    let (newer, older) = (entries[slot].newer, entries[slot].older)
    if newer >= 0 { entries[newer].older = older } else { newest = older }
    if older >= 0 { entries[older].newer = newer } else { oldest = newer }
  }

  private mutating func remove(_ slot: Int) {
    unlink(slot)
    index[entries[slot].key] = nil
    bytes -= entries[slot].bytes
    entries[slot].value = nil
    entries[slot].key = ""
    free.append(slot)
  }
}
