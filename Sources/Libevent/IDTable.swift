/// A hash table from the pool's integer ids to values: open addressing,
/// linear probing, Fibonacci hashing, backward-shift deletion.
///
/// The pool and the client look up calls and connections several times per
/// upstream request. A `Dictionary` hashes every key with SipHash; here a
/// lookup is a multiply, a shift and usually one probe. Keys are unique
/// ids, so no defence against chosen collisions is needed.
struct IDTable<Value> {
  private var keys: [Int]
  private var values: [Value?]
  private var shift: Int
  private(set) var count = 0
  private static var empty: Int { Int.min }

  init() {
    keys = Array(repeating: Self.empty, count: 16)
    values = Array(repeating: nil, count: 16)
    shift = Int.bitWidth - 4
  }

  var isEmpty: Bool { count == 0 }

  subscript(key: Int) -> Value? {
    get { find(key).map { values[$0] } ?? nil }
    set {
      if let newValue {
        insert(key, newValue)
      } else {
        _ = removeValue(forKey: key)
      }
    }
  }

  @discardableResult
  mutating func removeValue(forKey key: Int) -> Value? {
    guard var hole = find(key) else { return nil }
    let removed = values[hole]
    keys[hole] = Self.empty
    values[hole] = nil
    count -= 1
    // Backward shift: pull later entries of the probe run into the hole, so
    // no tombstones are left for lookups to step over.
    let mask = keys.count - 1
    var next = (hole + 1) & mask
    while keys[next] != Self.empty {
      let home = slot(of: keys[next])
      // Move it if its home is not in the cyclic range (hole, next].
      if (next - home) & mask >= (next - hole) & mask {
        keys[hole] = keys[next]
        values[hole] = values[next]
        keys[next] = Self.empty
        values[next] = nil
        hole = next
      }
      next = (next + 1) & mask
    }
    return removed
  }

  mutating func removeAll() { self = IDTable() }

  /// Every entry, in no particular order.
  var entries: [(key: Int, value: Value)] {
    keys.indices.compactMap { i in
      keys[i] == Self.empty ? nil : values[i].map { (keys[i], $0) }
    }
  }

  private func slot(of key: Int) -> Int {
    Int(bitPattern: (UInt(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> UInt(shift))
  }

  private func find(_ key: Int) -> Int? {
    let mask = keys.count - 1
    var i = slot(of: key)
    while keys[i] != Self.empty {
      if keys[i] == key { return i }
      i = (i + 1) & mask
    }
    return nil
  }

  private mutating func insert(_ key: Int, _ value: Value) {
    precondition(key != Self.empty, "Int.min is not a valid id")
    if let existing = find(key) {
      values[existing] = value
      return
    }
    if (count + 1) * 2 > keys.count { grow() }
    let mask = keys.count - 1
    var i = slot(of: key)
    while keys[i] != Self.empty { i = (i + 1) & mask }
    keys[i] = key
    values[i] = value
    count += 1
  }

  private mutating func grow() {
    let old = entries
    keys = Array(repeating: Self.empty, count: keys.count * 2)
    values = Array(repeating: nil, count: keys.count)
    shift -= 1
    count = 0
    for (key, value) in old { insert(key, value) }
  }
}
