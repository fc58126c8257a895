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

@Suite("MiniJSON strictness (I-JSON)")
struct JSONStrictnessTests {
  @Test(arguments: [
    (#"{"name":"ok","userId":1,"name":""}"#, #""name""#),
    (#"{"name":"ok","userId":1,"userId":{"x":1}}"#, #""userId""#),
    (#"{"a":{"b":1,"b":2}}"#, #""b""#),
    (#"[{"x":1},{"y":[{"z":1,"z":1}]}]"#, #""z""#),
    (#"{"a":1,"\u0061":2}"#, #""a""#),
    (#"{"\u0061":1,"b":{"\u0061":1},"a":2}"#, #""a""#),
    // Past the size where a set takes over, names copied or not.
    (
      "{"
        + (0..<20).map { #""\u006b\#($0)":0,"# }
        .joined() + #""k7":1}"#, #""k7""#
    ),
  ])
  func duplicateKeysAtAnyDepthAreRejectedByName(text: String, key: String) {
    for check in [
      { _ = try JSONValue.parse(text) }, { _ = try JSONValue.validate(Array(text.utf8)) },
    ] {
      do {
        try check()
        Issue.record("accepted \(text)")
      } catch let error as JSONParseError {
        #expect(error.reason == "duplicate key \(key)")
      } catch {
        Issue.record("\(error)")
      }
    }
  }

  @Test func sameKeyInSiblingObjectsIsFine() throws {
    let value = try JSONValue.parse(#"[{"a":1},{"a":2},{"b":{"a":3}}]"#)
    #expect(value.arrayValue?.count == 3)
  }

  @Test func keysThatAreOnlyCanonicallyEquivalentAreDistinct() throws {
    // "é" precomposed and decomposed: equal as Swift Strings, different JSON names.
    let value = try JSONValue.parse(#"{"\u00e9":1,"e\u0301":2}"#)
    guard case .object(let members) = value else { return #expect(Bool(false)) }
    #expect(members.count == 2)
  }

  @Test func duplicatesInLargeObjectsAreFoundToo() {
    let members = (0..<1_000).map { #""k\#($0)":\#($0)"# }
    let unique = "{" + members.joined(separator: ",") + "}"
    #expect((try? JSONValue.parse(unique)) != nil)
    let repeated = "{" + (members + [#""k500":0"#]).joined(separator: ",") + "}"
    #expect(throws: JSONParseError.self) { try JSONValue.parse(repeated) }
  }

  @Test(arguments: [
    #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#, #""\udfff\ud800""#,
  ])
  func loneSurrogateEscapesAreRejected(text: String) {
    #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
  }

  @Test(
    arguments: [
      [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
      [0xF5, 0x80, 0x80, 0x80], [0x80], [0xBF], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xFE], [0xFF],
    ] as [[UInt8]])
  func invalidUTF8InStringsIsRejected(sequence: [UInt8]) {
    let document = [0x22] + sequence + [0x22]
    #expect(throws: JSONParseError.self) { try JSONValue.parse(document) }
    #expect(throws: JSONParseError.self) { try JSONValue.validate(document) }
  }

  @Test func wellFormedMultibyteTextSurvivesEscapesAround() throws {
    let text = #""é\n€😀\u00e9x\"ü""#
    #expect(try JSONValue.parse(text) == .string("é\n€😀éx\"ü"))
    #expect(try JSONValue.parse(text).serialized == #""é\n€😀éx\"ü""#)
  }

  @Test func validateReportsTheTopLevelKindWithoutBuilding() throws {
    #expect(try JSONValue.validate(Array(#"{"a":[1,"x"]}"#.utf8)) == .object)
    #expect(try JSONValue.validate(Array(" [1] ".utf8)) == .array)
    #expect(try JSONValue.validate(Array("-1.5e3".utf8)) == .number)
    #expect(throws: JSONParseError.self) { try JSONValue.validate(Array("<html>oops</html>".utf8)) }
    #expect(throws: JSONParseError.self) { try JSONValue.validate(Array(#"{"a":1"#.utf8)) }
  }

  @Test func controlCharactersAreWrittenEscaped() {
    #expect(JSONValue.string("\u{0}\u{1F}\u{7F}").serialized == #""\u0000\u001f\#u{7F}""#)
  }
}

/// Inputs the differential fuzzer (`json-fuzz`) turned up, kept as tests.
@Suite("MiniJSON fuzz findings")
struct JSONFuzzFindingTests {
  /// `0e4` and `-0.0e-3` are valid RFC 8259 (`int` may be a lone zero, and
  /// any number may have an `exp`); the fuzzer found that FoundationEssentials'
  /// JSONDecoder refuses them.
  @Test(arguments: ["0e4", "0E1", "-0e4", "[0e+4,0.0e1]", "-0.0e-3", "-0.0e3"])
  func zeroWithAnExponentIsANumber(text: String) throws {
    #expect(try JSONValue.parse(text).serialized == text)
  }
}

extension JSONFuzzFindingTests {
  /// JSONDecoder accepted this: it checks a number only when it decodes it,
  /// and the second name is, to it, the first one again. MiniJSON reads
  /// every byte: the names are distinct, and `-` is no number.
  @Test func aMalformedNumberIsRejectedWhereverItStands() {
    #expect(throws: JSONParseError.self) { try JSONValue.parse(#"{"\u00e9":1,"e\u0301":-}"#) }
    #expect(throws: JSONParseError.self) { try JSONValue.parse(#"{"a":1,"b":01}"#) }
  }
}
