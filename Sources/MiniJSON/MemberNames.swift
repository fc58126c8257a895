/// The member names of the objects being read, to refuse a duplicate at any
/// depth (I-JSON). Names are compared byte for byte, as JSON defines them —
/// not by Swift's canonical equivalence — and no `String` is made per name.
/// A name without escapes is kept as its place in the input (nothing is
/// copied); only a decoded one is copied, into one arena. Small objects
/// are searched linearly; from `hashedFrom` members on, a set keeps the
/// check O(1).
struct MemberNames {
  private static let hashedFrom = 16

  /// Where a name's bytes are: in the input, or in `arena`.
  private struct Span {
    let start: Int
    let count: Int
    let copied: Bool
  }

  private var arena: [UInt8] = []
  /// Every open object's names, innermost object last.
  private var spans: [Span] = []
  private var frames: [(start: Int, arenaStart: Int, hashed: Set<[UInt8]>?)] = []

  /// Room for a few levels of small objects, allocated once per document.
  mutating func reserve() {
    spans.reserveCapacity(16)
    frames.reserveCapacity(4)
  }

  mutating func open() { frames.append((spans.count, arena.count, nil)) }

  mutating func close() {
    let frame = frames.removeLast()
    spans.removeLast(spans.count - frame.start)
    if arena.count > frame.arenaStart { arena.removeLast(arena.count - frame.arenaStart) }
  }

  /// False if the innermost object already has the name at `range` of `input`.
  mutating func insert(_ range: Range<Int>, of input: UnsafeBufferPointer<UInt8>) -> Bool {
    let name = UnsafeBufferPointer(rebasing: input[range])
    guard isNew(name, input: input) else { return false }
    if frames[frames.count - 1].hashed == nil {
      spans.append(Span(start: range.lowerBound, count: range.count, copied: false))
    }
    return true
  }

  /// False if the innermost object already has `name` (decoded bytes, copied).
  mutating func insert(copy name: UnsafeBufferPointer<UInt8>, input: UnsafeBufferPointer<UInt8>)
    -> Bool
  {
    guard isNew(name, input: input) else { return false }
    if frames[frames.count - 1].hashed == nil {
      let start = arena.count
      arena.append(contentsOf: name)
      spans.append(Span(start: start, count: name.count, copied: true))
    }
    return true
  }

  /// Whether `name` is not yet in the innermost object; a set takes over
  /// once the object has `hashedFrom` names (then it holds them all).
  private mutating func isNew(_ name: UnsafeBufferPointer<UInt8>, input: UnsafeBufferPointer<UInt8>)
    -> Bool
  {
    let top = frames.count - 1
    if frames[top].hashed != nil { return frames[top].hashed!.insert(Array(name)).inserted }
    let start = frames[top].start
    let known = arena.withUnsafeBufferPointer { arena in
      for index in start..<spans.count {
        let span = spans[index]
        guard span.count == name.count else { continue }
        if name.isEmpty { return true }
        let base = span.copied ? arena.baseAddress! : input.baseAddress!
        if memcmpEqual(base + span.start, name.baseAddress!, name.count) { return true }
      }
      return false
    }
    if known { return false }
    if spans.count - start + 1 >= Self.hashedFrom {
      var set = Set<[UInt8]>()
      arena.withUnsafeBufferPointer { arena in
        for span in spans[start...] {
          let base = span.copied ? arena.baseAddress! : input.baseAddress!
          set.insert(Array(UnsafeBufferPointer(start: base + span.start, count: span.count)))
        }
      }
      set.insert(Array(name))
      frames[top].hashed = set
      spans.removeLast(spans.count - start)
    }
    return true
  }
}
