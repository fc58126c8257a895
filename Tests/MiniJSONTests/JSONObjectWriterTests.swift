import Testing

@testable import MiniJSON

@Suite("JSONObjectWriter")
struct JSONObjectWriterTests {
  @Test func writesMembersInOrderWithNestedObjects() throws {
    var json = JSONObjectWriter()
    json.string("status", "ok")
    json.openObject("breaker")
    json.string("state", "OPEN")
    json.int("failuresInWindow", 3)
    json.null("retryAfterMs")
    json.closeObject()
    json.bool("success", true)
    json.value("extra", .array([.number("1"), .bool(false)]))
    let text = String(decoding: json.finish(), as: UTF8.self)
    #expect(
      text
        == #"{"status":"ok","breaker":{"state":"OPEN","failuresInWindow":3,"retryAfterMs":null},"success":true,"extra":[1,false]}"#
    )
  }

  @Test(arguments: [
    (Int64(0), "0"), (7, "7"), (-7, "-7"), (1_000_000, "1000000"),
    (.max, "9223372036854775807"), (.min, "-9223372036854775808"),
  ])
  func integers(value: Int64, text: String) {
    var json = JSONObjectWriter()
    json.int("n", value)
    #expect(String(decoding: json.finish(), as: UTF8.self) == #"{"n":\#(text)}"#)
  }

  /// String values are escaped exactly as `JSONValue` writes them, and parse back.
  @Test func stringValuesAreEscaped() throws {
    let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} é 😀"
    var json = JSONObjectWriter()
    json.string("message", tricky)
    let bytes = json.finish()
    #expect(try JSONValue.parse(bytes)["message"] == .string(tricky))
    #expect(bytes == JSONValue.object([("message", .string(tricky))]).bytes)
  }

  @Test func anEmptyObject() {
    #expect(JSONObjectWriter().finish() == Array("{}".utf8))
  }
}

@Suite("String scanning eight bytes at a time")
struct PlainWordTests {
  /// Every byte value at every position of a word of otherwise plain bytes.
  @Test func aWordIsPlainExactlyWhenEveryByteIs() {
    for position in 0..<8 {
      for value in 0...255 {
        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
        bytes[position] = UInt8(value)
        let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let plain = (0x20...0x7F).contains(value) && value != 0x22 && value != 0x5C
        #expect(JSONReader.allPlain(word) == plain, "byte \(value) at \(position)")
      }
    }
  }

  /// Strings long enough for the fast path, with the byte that stops it at
  /// each offset: the parse agrees with the byte-by-byte answer.
  @Test func stringsParseTheSameWhereverTheSpecialByteFalls() throws {
    for offset in 0..<20 {
      var text = String(repeating: "x", count: 24)
      let at = text.index(text.startIndex, offsetBy: offset)
      text.replaceSubrange(at...at, with: "\\n")
      let parsed = try JSONValue.parse(Array("\"\(text)\"".utf8))
      #expect(parsed.stringValue?.count == 24 + 0, "offset \(offset)")
      #expect(parsed.stringValue?.contains("\n") == true)
      #expect(throws: JSONParseError.self) {
        try JSONValue.parse(
          Array("\"\(String(repeating: "y", count: offset))\u{01}zzzzzzzzzz\"".utf8))
      }
    }
  }
}
