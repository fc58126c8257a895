/// Idempotency keys (as in Stripe's API) as a pure state machine: what a
/// key has seen, and what a request with it may do. Time comes in as
/// milliseconds; the caller sends, replays or refuses.
///
/// Per key: a fingerprint of the first request's body, the event id made
/// for it, and how it ended. A key lives `ttlMs` from its first use; at
/// `capacity`, the oldest key (by first use) makes room.
public struct IdempotencyStore: Sendable {
  /// How a request with the key ended, as far as replays are concerned.
  public enum Ending: Sendable, Equatable {
    /// Stored upstream: replay the 200.
    case stored
    /// The upstream refused it (4xx): replay that answer.
    case rejected(status: Int, body: [UInt8])
    /// The upstream failed (5xx, timeout, connection): send again, same id.
    case failed
  }

  /// What a request carrying a key may do.
  public enum Decision: Sendable, Equatable {
    /// Send the event upstream with this id (a new key, or one whose last
    /// attempt failed). The key is in flight until `finish` or `release`.
    case send(eventID: String)
    /// The key's earlier request ended with this: answer it again.
    case replay(eventID: String, outcome: Ending)
    /// Another request with the key is in flight (409), whatever its body.
    case inProgress
    /// The key was used with a different body (422).
    case bodyMismatch
  }

  /// Held inline, not as arrays or strings: at 100,000 keys each heap
  /// object per entry costs about 8 MB.
  private struct Entry {
    let fingerprint: Fingerprint
    let eventID: CompactText
    let firstUseMs: Int64
    var outcome: Ending?
    var inFlight: Bool
  }

  public let ttlMs: Int64
  public let capacity: Int
  private var entries: [String: Entry] = [:]
  /// Keys in order of first use, oldest first. An entry whose first use
  /// differs is stale (the key was released and used again later).
  private var order: [(key: String, firstUseMs: Int64)] = []
  private var orderStart = 0

  public init(ttlMs: Int64, capacity: Int) {
    self.ttlMs = ttlMs
    self.capacity = max(1, capacity)
  }

  public var count: Int { entries.count }

  /// A request arrives with `key`, a body with `fingerprint`, and the id the
  /// caller would give a new event.
  public mutating func begin(key: String, fingerprint: [UInt8], newEventID: String, now: Int64)
    -> Decision
  {
    expire(now: now)
    let fingerprint = Fingerprint(fingerprint)
    if var entry = entries[key] {
      // In flight first: 409 whatever the body.
      if entry.inFlight { return .inProgress }
      guard entry.fingerprint == fingerprint else { return .bodyMismatch }
      switch entry.outcome {
      case .stored?, .rejected?:
        return .replay(eventID: entry.eventID.string, outcome: entry.outcome!)
      case .failed?, nil:
        entry.inFlight = true
        entries[key] = entry
        return .send(eventID: entry.eventID.string)
      }
    }
    if entries.count >= capacity { evictOldest() }
    entries[key] = Entry(
      fingerprint: fingerprint, eventID: CompactText(newEventID), firstUseMs: now, outcome: nil,
      inFlight: true)
    order.append((key, now))
    return .send(eventID: newEventID)
  }

  /// The request sent under `key` ended with `outcome`.
  public mutating func finish(key: String, outcome: Ending) {
    guard var entry = entries[key] else { return }
    entry.inFlight = false
    entry.outcome = outcome
    entries[key] = entry
  }

  /// The request under `key` was not sent after all (the breaker refused
  /// it): a key seen for the first time is forgotten; an older one keeps its
  /// id and its last outcome.
  public mutating func release(key: String) {
    guard var entry = entries[key] else { return }
    if entry.outcome == nil {
      entries[key] = nil
    } else {
      entry.inFlight = false
      entries[key] = entry
    }
  }

  /// Drops keys whose time is up, oldest first (they are in first-use order).
  private mutating func expire(now: Int64) {
    while orderStart < order.count {
      let (key, firstUse) = order[orderStart]
      if let entry = entries[key], entry.firstUseMs == firstUse {
        guard now - firstUse >= ttlMs else { break }
        entries[key] = nil
      }
      orderStart += 1
    }
    compactOrder()
  }

  private mutating func evictOldest() {
    while orderStart < order.count {
      let (key, firstUse) = order[orderStart]
      orderStart += 1
      if let entry = entries[key], entry.firstUseMs == firstUse {
        entries[key] = nil
        break
      }
    }
    compactOrder()
  }

  /// Keeps the order list from growing without bound as keys come and go.
  private mutating func compactOrder() {
    guard orderStart > 1_024, orderStart * 2 > order.count else { return }
    order.removeFirst(orderStart)
    orderStart = 0
  }
}

/// The first 32 bytes of a digest, inline.
private struct Fingerprint: Equatable {
  let words: (UInt64, UInt64, UInt64, UInt64)

  init(_ bytes: [UInt8]) {
    var words: [UInt64] = [0, 0, 0, 0]
    for (i, byte) in bytes.prefix(32).enumerated() { words[i / 8] |= UInt64(byte) << (8 * (i % 8)) }
    self.words = (words[0], words[1], words[2], words[3])
  }

  static func == (a: Fingerprint, b: Fingerprint) -> Bool {
    a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
      && a.words.3 == b.words.3
  }
}

/// A short string (an event id: 36 bytes for a UUID) kept inline in 40
/// bytes; anything longer is kept as a `String`.
private enum CompactText {
  case inline(count: UInt8, words: (UInt64, UInt64, UInt64, UInt64, UInt64))
  case string(String)

  init(_ text: String) {
    let bytes = Array(text.utf8)
    guard bytes.count <= 40 else {
      self = .string(text)
      return
    }
    var words: [UInt64] = [0, 0, 0, 0, 0]
    for (i, byte) in bytes.enumerated() { words[i / 8] |= UInt64(byte) << (8 * (i % 8)) }
    self = .inline(
      count: UInt8(bytes.count), words: (words[0], words[1], words[2], words[3], words[4]))
  }

  var string: String {
    switch self {
    case .string(let text): return text
    case .inline(let count, let words):
      let all = [words.0, words.1, words.2, words.3, words.4]
      let bytes = (0..<Int(count)).map { UInt8(truncatingIfNeeded: all[$0 / 8] >> (8 * ($0 % 8))) }
      return String(decoding: bytes, as: UTF8.self)
    }
  }
}
