/// An independent look at a document's structure, used to confirm the
/// documented differences between MiniJSON and `JSONDecoder` rather than
/// take MiniJSON's word for them. It only finds string literals, brackets
/// and commas, so it is meant for documents `JSONDecoder` accepted.
struct StructureScan {
  /// Some object has two members whose names are the same bytes.
  private(set) var hasDuplicateName = false
  /// Some object has two names that differ in bytes but are equal as Swift
  /// Strings (Unicode canonical equivalence): `JSONDecoder` merges them.
  private(set) var hasEquivalentNames = false
  private(set) var hasTrailingComma = false
  private(set) var maxDepth = 0

  init(_ bytes: [UInt8]) {
    var names: [[String]] = []
    var isObject: [Bool] = []
    var expectingName = false
    var lastSignificant: UInt8 = 0
    var i = 0
    while i < bytes.count {
      let c = bytes[i]
      switch c {
      case UInt8(ascii: "\""):
        let start = i
        i += 1
        while i < bytes.count && bytes[i] != UInt8(ascii: "\"") {
          i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        if expectingName, isObject.last == true, i < bytes.count,
          case .string(let name)? = ReferenceJSON.decode(Array(bytes[start...i]))
        {
          note(name, in: &names[names.count - 1])
        }
        expectingName = false
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        isObject.append(c == UInt8(ascii: "{"))
        names.append([])
        expectingName = c == UInt8(ascii: "{")
        maxDepth = max(maxDepth, isObject.count)
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        if lastSignificant == UInt8(ascii: ",") { hasTrailingComma = true }
        if !isObject.isEmpty {
          isObject.removeLast()
          names.removeLast()
        }
        expectingName = false
      case UInt8(ascii: ","): expectingName = isObject.last == true
      default: break
      }
      if c > 0x20 { lastSignificant = c }
      i += 1
    }
  }

  private mutating func note(_ name: String, in seen: inout [String]) {
    for other in seen where other == name {
      if other.utf8.elementsEqual(name.utf8) {
        hasDuplicateName = true
      } else {
        hasEquivalentNames = true
      }
    }
    seen.append(name)
  }
}
