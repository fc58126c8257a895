/// Writes a JSON object straight into bytes, member by member: no
/// `JSONValue` tree in between. Keys are literals the caller guarantees need
/// no escaping; string values are escaped as `JSONValue.writeString` does.
///
/// An error body or /health built this way costs a fraction of what it
/// costs through a tree (docs/performance.md).
public struct JSONObjectWriter {
  public private(set) var bytes: [UInt8] = []
  private var needsComma = false

  public init(capacity: Int = 128) {
    bytes.reserveCapacity(capacity)
    bytes.append(UInt8(ascii: "{"))
  }

  public mutating func string(_ key: StaticString, _ value: String) {
    self.key(key)
    JSONValue.writeString(value, into: &bytes)
  }

  public mutating func int(_ key: StaticString, _ value: Int64) {
    self.key(key)
    Self.writeDecimal(value, into: &bytes)
  }

  public mutating func bool(_ key: StaticString, _ value: Bool) {
    self.key(key)
    bytes.append(contentsOf: value ? Self.trueText : Self.falseText)
  }

  public mutating func null(_ key: StaticString) {
    self.key(key)
    bytes.append(contentsOf: Self.nullText)
  }

  /// A member whose key is only known at run time, with any value.
  public mutating func value(_ key: String, _ value: JSONValue) {
    comma()
    JSONValue.writeString(key, into: &bytes)
    bytes.append(UInt8(ascii: ":"))
    value.write(into: &bytes)
  }

  /// Opens a nested object; members written next belong to it until
  /// `closeObject()`.
  public mutating func openObject(_ key: StaticString) {
    self.key(key)
    bytes.append(UInt8(ascii: "{"))
    needsComma = false
  }

  public mutating func closeObject() {
    bytes.append(UInt8(ascii: "}"))
    needsComma = true
  }

  /// The finished object.
  public consuming func finish() -> [UInt8] {
    bytes.append(UInt8(ascii: "}"))
    return bytes
  }

  private mutating func key(_ key: StaticString) {
    comma()
    bytes.append(UInt8(ascii: "\""))
    bytes.append(
      contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
    bytes.append(UInt8(ascii: "\""))
    bytes.append(UInt8(ascii: ":"))
  }

  private mutating func comma() {
    if needsComma { bytes.append(UInt8(ascii: ",")) }
    needsComma = true
  }

  private static let trueText = Array("true".utf8)
  private static let falseText = Array("false".utf8)
  private static let nullText = Array("null".utf8)

  /// Decimal digits of `value`, without building a `String`. Not generic:
  /// an unspecialised generic across modules cost more than the reply.
  static func writeDecimal(_ value: Int64, into out: inout [UInt8]) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
      var start = digits.count
      var rest = value.magnitude
      repeat {
        start -= 1
        digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
        rest /= 10
      } while rest > 0
      if value < 0 { out.append(UInt8(ascii: "-")) }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
    }
  }
}
