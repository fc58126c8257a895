/// The member names of the objects being read, to refuse a duplicate at any
/// depth (I-JSON). Names are compared byte for byte, as JSON defines them —
/// not by Swift's canonical equivalence. Small objects are searched
/// linearly; from `hashedFrom` members on, a set keeps the check O(1).
struct MemberNames {
  private static let hashedFrom = 16
  private var names: [String] = []
  private var frames: [(start: Int, hashed: Set<ExactName>?)] = []

  mutating func open() { frames.append((names.count, nil)) }

  mutating func close() {
    let frame = frames.removeLast()
    names.removeSubrange(frame.start...)
  }

  /// False if the innermost object already has this name.
  mutating func insert(_ name: String) -> Bool {
    let top = frames.count - 1
    let start = frames[top].start
    if frames[top].hashed != nil {
      guard frames[top].hashed!.insert(ExactName(name)).inserted else { return false }
    } else {
      // Byte-equal names are equal Strings; `==` rules most pairs out fast.
      for existing in names[start...]
      where existing == name && existing.utf8.elementsEqual(name.utf8) {
        return false
      }
      if names.count - start + 1 >= Self.hashedFrom {
        frames[top].hashed = Set((names[start...] + [name]).map(ExactName.init))
      }
    }
    names.append(name)
    return true
  }
}

/// A name hashed and compared by its UTF-8 bytes.
private struct ExactName: Hashable {
  let text: String

  init(_ text: String) { self.text = text }

  static func == (a: ExactName, b: ExactName) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }

  func hash(into hasher: inout Hasher) {
    var text = text
    text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
  }
}
