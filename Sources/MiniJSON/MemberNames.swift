/// The member names of the objects being read, to refuse a duplicate at any
/// depth (I-JSON). Names are compared byte for byte, as JSON defines them —
/// not by Swift's canonical equivalence — and kept as bytes in one arena, so
/// no `String` is made per name (about 250 instructions a name less). Small
/// objects are searched linearly; from `hashedFrom` members on, a set keeps
/// the check O(1).
struct MemberNames {
  private static let hashedFrom = 16
  /// The names' bytes, back to back, innermost object last.
  private var arena: [UInt8] = []
  /// Each name's place in `arena`.
  private var spans: [Range<Int>] = []
  private var frames: [(start: Int, arenaStart: Int, hashed: Set<[UInt8]>?)] = []

  /// Room for a few levels of small objects, allocated once per document.
  mutating func reserve() {
    arena.reserveCapacity(128)
    spans.reserveCapacity(16)
    frames.reserveCapacity(4)
  }

  mutating func open() { frames.append((spans.count, arena.count, nil)) }

  mutating func close() {
    let frame = frames.removeLast()
    spans.removeSubrange(frame.start...)
    arena.removeSubrange(frame.arenaStart...)
  }

  /// False if the innermost object already has this name.
  mutating func insert(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
    let top = frames.count - 1
    let start = frames[top].start
    if frames[top].hashed != nil {
      // Kept in the set only: the arena grows no further for this object.
      return frames[top].hashed!.insert(Array(name)).inserted
    } else {
      let known = arena.withUnsafeBufferPointer { arena in
        spans[start...].contains { span in
          span.count == name.count
            && (name.isEmpty
              || memcmpEqual(arena.baseAddress! + span.lowerBound, name.baseAddress!, name.count))
        }
      }
      if known { return false }
      if spans.count - start + 1 >= Self.hashedFrom {
        // Copies, not slices: a slice would share the arena's storage and
        // make every later append copy it.
        var set = Set(spans[start...].map { Array(arena[$0]) })
        set.insert(Array(name))
        frames[top].hashed = set
        return true
      }
    }
    let from = arena.count
    arena.append(contentsOf: name)
    spans.append(from..<arena.count)
    return true
  }
}
