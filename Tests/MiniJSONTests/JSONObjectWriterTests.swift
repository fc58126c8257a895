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
