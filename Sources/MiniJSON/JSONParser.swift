public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  public let offset: Int
  public let reason: String
  public var description: String { "\(reason) at byte \(offset)" }
}

/// The kind of a JSON value, as `JSONValue.validate` reports a document's top level.
public enum JSONKind: String, Sendable, Equatable {
  case object, array, string, number, bool, null

  public init(_ value: JSONValue) {
    switch value {
    case .object: self = .object
    case .array: self = .array
    case .string: self = .string
    case .number: self = .number
    case .bool: self = .bool
    case .null: self = .null
    }
  }
}

extension JSONValue {
  /// Parses one JSON document strictly: RFC 8259 plus I-JSON (RFC 7493) —
  /// UTF-8 only, no duplicate member names at any depth, no lone surrogate
  /// escapes. Nesting deeper than `maxDepth` is refused, so hostile input
  /// cannot exhaust the stack. Time is linear in the input's size.
  public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONParseError) -> JSONValue
  {
    try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
      var parser = JSONReader(buffer, building: true, maxDepth: maxDepth)
      return try parser.document()
    }
  }

  public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
    try parse(Array(text.utf8))
  }

  /// Checks a document by the same rules as `parse` without building it
  /// (no strings or containers are made but member names), and returns the
  /// kind of its top-level value.
  public static func validate(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONParseError)
    -> JSONKind
  {
    try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONKind in
      var parser = JSONReader(buffer, building: false, maxDepth: maxDepth)
      _ = try parser.document()
      return parser.topLevelKind
    }
  }
}

/// One pass over the bytes. In building mode it returns the values; in
/// checking mode every value is `.null` and only member names are decoded
/// (to find duplicates).
struct JSONReader {
  let bytes: UnsafeBufferPointer<UInt8>
  let building: Bool
  let maxDepth: Int
  var index = 0
  var topLevelKind = JSONKind.null
  /// Member names of the objects being read, innermost last.
  var names = MemberNames()
  /// Decoded bytes of a string with escapes.
  var scratch: [UInt8] = []

  init(_ bytes: UnsafeBufferPointer<UInt8>, building: Bool, maxDepth: Int) {
    self.bytes = bytes
    self.building = building
    self.maxDepth = maxDepth
    names.reserve()
  }

  func error(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

  var current: UInt8? { index < bytes.count ? bytes[index] : nil }

  mutating func document() throws(JSONParseError) -> JSONValue {
    skipSpace()
    topLevelKind = Self.kind(startingWith: current)
    let value = try value(depth: 0)
    skipSpace()
    guard index == bytes.count else { throw error("unexpected data after the document") }
    return value
  }

  static func kind(startingWith byte: UInt8?) -> JSONKind {
    switch byte {
    case UInt8(ascii: "{"): .object
    case UInt8(ascii: "["): .array
    case UInt8(ascii: "\""): .string
    case UInt8(ascii: "t"), UInt8(ascii: "f"): .bool
    case UInt8(ascii: "n"): .null
    default: .number
    }
  }

  mutating func skipSpace() {
    while index < bytes.count {
      switch bytes[index] {
      case 0x20, 0x0A, 0x0D, 0x09: index += 1
      default: return
      }
    }
  }

  mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
    guard depth < maxDepth else { throw error("nesting too deep") }
    switch current {
    case UInt8(ascii: "{"): return try object(depth: depth)
    case UInt8(ascii: "["): return try array(depth: depth)
    case UInt8(ascii: "\""):
      let text = try string(decode: building)
      return building ? .string(text) : .null
    case UInt8(ascii: "t"):
      try literal("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try literal("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try literal("null")
      return .null
    case .some(let c) where c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39): return try number()
    case nil: throw error("unexpected end of input")
    default: throw error("unexpected character")
    }
  }

  mutating func literal(_ word: StaticString) throws(JSONParseError) {
    let count = word.utf8CodeUnitCount
    guard index + count <= bytes.count,
      memcmpEqual(bytes.baseAddress! + index, word.utf8Start, count)
    else { throw error("invalid literal") }
    index += count
  }

  mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
    index += 1
    var members: [(String, JSONValue)] = []
    // Room for a small object up front: growing 1, 2, 4 costs three allocations.
    if building { members.reserveCapacity(4) }
    names.open()
    defer { names.close() }
    skipSpace()
    if current == UInt8(ascii: "}") {
      index += 1
      return building ? .object(members) : .null
    }
    while true {
      skipSpace()
      guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
      let nameOffset = index
      let name = try memberName()
      var key = ""
      let inserted: Bool
      switch name {
      case .input(let range):
        let run = UnsafeBufferPointer(rebasing: bytes[range])
        inserted = names.insert(range, of: bytes)
        // Checked as it was read: decoding cannot need repairs.
        if building || !inserted { key = String(decoding: run, as: UTF8.self) }
      case .scratch:
        inserted = scratch.withUnsafeBufferPointer { names.insert(copy: $0, input: bytes) }
        if building || !inserted { key = String(decoding: scratch, as: UTF8.self) }
      }
      guard inserted else {
        throw JSONParseError(offset: nameOffset, reason: "duplicate key \(Self.quoted(key))")
      }
      skipSpace()
      guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
      index += 1
      skipSpace()
      let member = try value(depth: depth + 1)
      if building { members.append((key, member)) }
      skipSpace()
      switch current {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "}"):
        index += 1
        return building ? .object(members) : .null
      default: throw error("expected ',' or '}'")
      }
    }
  }

  mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
    index += 1
    var elements: [JSONValue] = []
    skipSpace()
    if current == UInt8(ascii: "]") {
      index += 1
      return building ? .array(elements) : .null
    }
    while true {
      skipSpace()
      let element = try value(depth: depth + 1)
      if building { elements.append(element) }
      skipSpace()
      switch current {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "]"):
        index += 1
        return building ? .array(elements) : .null
      default: throw error("expected ',' or ']'")
      }
    }
  }

  mutating func number() throws(JSONParseError) -> JSONValue {
    let start = index
    if current == UInt8(ascii: "-") { index += 1 }
    guard let first = current, first >= 0x30 && first <= 0x39 else { throw error("invalid number") }
    if first == 0x30 { index += 1 } else { digits() }
    if current == UInt8(ascii: ".") {
      index += 1
      guard digits() else { throw error("invalid number") }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      index += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
      guard digits() else { throw error("invalid number") }
    }
    guard building else { return .null }
    return .number(
      String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
  }

  @discardableResult
  mutating func digits() -> Bool {
    let start = index
    while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
    return index > start
  }

  static func quoted(_ key: String) -> String {
    var out: [UInt8] = []
    JSONValue.writeString(key, into: &out)
    return String(decoding: out, as: UTF8.self)
  }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
  for i in 0..<count where a[i] != b[i] { return false }
  return true
}
