import Testing

@testable import MiniJSON

@Suite("MiniJSON")
struct JSONValueTests {
  @Test(arguments: [
    #"{"a":1,"b":[true,false,null],"c":"x","d":{"e":-0.5e10}}"#, #"[]"#, #"{}"#, #""\u0001\"\\""#,
    "12345678901234567890",
    #"{"z":1,"a":2}"#,
  ])
  func roundTripKeepsTextOrderAndNumbers(text: String) throws {
    #expect(try JSONValue.parse(text).serialized == text)
  }

  @Test func escapesAndUnicode() throws {
    let value = try JSONValue.parse(#""a\n\t\/\u00e9\ud83d\ude00""#)
    #expect(value == .string("a\n\t/é😀"))
    #expect(JSONValue.string("q\"\u{7}").serialized == #""q\"\u0007""#)
  }

  @Test(arguments: [
    "", "{", "[1,]", #"{"a"}"#, "01", "1.", "-", "tru", #""\x""#, #""\ud800""#, "[1] 2", "nul",
    "\"a\nb\"", #"{"a":1,}"#,
    "+1", ".5",
  ])
  func malformedInputIsRejected(text: String) {
    #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
  }

  @Test func invalidUTF8IsRejected() {
    #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
    #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xC3, 0x22]) }
  }

  @Test func deepNestingIsRefusedNotACrash() {
    let deep = String(repeating: "[", count: 100_000)
    #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
    let ok = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
    #expect((try? JSONValue.parse(ok)) != nil)
  }

  @Test func integerTextTellsIntegersFromFractions() throws {
    #expect(try JSONValue.parse("42").integerText == "42")
    #expect(try JSONValue.parse("-3").integerText == "-3")
    #expect(try JSONValue.parse("1.0").integerText == nil)
    #expect(try JSONValue.parse("1E2").integerText == nil)
  }
}
