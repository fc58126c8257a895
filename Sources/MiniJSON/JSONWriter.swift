extension JSONValue {
  /// Compact JSON text (no spaces), members in their stored order.
  public var bytes: [UInt8] {
    var out: [UInt8] = []
    // Small documents (error bodies, /health) fit without regrowing.
    out.reserveCapacity(128)
    write(into: &out)
    return out
  }

  public var serialized: String { String(decoding: bytes, as: UTF8.self) }

  public func write(into out: inout [UInt8]) {
    switch self {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .number(let text): out.append(contentsOf: text.utf8)
    case .string(let s): JSONValue.writeString(s, into: &out)
    case .array(let elements):
      out.append(UInt8(ascii: "["))
      for (i, element) in elements.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        element.write(into: &out)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let members):
      out.append(UInt8(ascii: "{"))
      for (i, (key, value)) in members.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        JSONValue.writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        value.write(into: &out)
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  /// A JSON string literal: quotes, backslashes and control characters
  /// escaped, everything else copied as UTF-8 bytes in runs.
  public static func writeString(_ s: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    var s = s
    s.withUTF8 { utf8 in
      // Most strings need no escape at all: one copy, no per-byte appends.
      guard utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else {
        out.append(contentsOf: utf8)
        return
      }
      var runStart = 0
      for (i, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
        runStart = i + 1
        switch byte {
        case 0x22: out.append(contentsOf: #"\""#.utf8)
        case 0x5C: out.append(contentsOf: #"\\"#.utf8)
        case 0x0A: out.append(contentsOf: #"\n"#.utf8)
        case 0x0D: out.append(contentsOf: #"\r"#.utf8)
        case 0x09: out.append(contentsOf: #"\t"#.utf8)
        default:
          let hex = Array("0123456789abcdef".utf8)
          out.append(contentsOf: #"\u00"#.utf8)
          out.append(hex[Int(byte >> 4)])
          out.append(hex[Int(byte & 0xF)])
        }
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }
    out.append(UInt8(ascii: "\""))
  }

  /// The same literal appended to a `String` (for log lines).
  public static func writeString(_ s: String, into out: inout String) {
    var bytes: [UInt8] = []
    writeString(s, into: &bytes)
    out += String(decoding: bytes, as: UTF8.self)
  }
}
