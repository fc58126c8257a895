import MiniJSON
import Testing

@testable import EventService

@Suite("AddEventValidation")
struct AddEventValidationTests {
  private func check(_ contentType: String?, _ body: String, max: Int = 100) -> ServiceError? {
    if case .failure(let rejection) = AddEventValidation.validate(
      contentType: contentType, body: Array(body.utf8), maxBodyBytes: max)
    {
      return rejection
    }
    return nil
  }

  @Test func orderIsMediaTypeThenSizeThenBody() {
    let big = String(repeating: "x", count: 101)
    #expect(check(nil, big)?.status == 415)
    #expect(check("application/json", big)?.status == 413)
    #expect(check("application/json", "x")?.status == 400)
  }

  @Test func validBodiesPassWithEveryFieldKept() throws {
    let result = AddEventValidation.validate(
      contentType: "application/json",
      body: Array(#"{"name":"a","userId":-7,"x":[1,{"y":null}]}"#.utf8), maxBodyBytes: 100)
    let members = try result.get()
    #expect(members.map(\.0) == ["name", "userId", "x"])
  }

  @Test func nameLimitCountsCharactersNotBytes() {
    let name200 = String(repeating: "ü", count: 200)
    #expect(check("application/json", #"{"name":"\#(name200)","userId":1}"#, max: 10_000) == nil)
    #expect(
      check("application/json", #"{"name":"\#(name200)x","userId":1}"#, max: 10_000)?.message
        .contains("name") == true)
  }

  @Test(arguments: [
    "application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
    " application/json ;x=y",
  ])
  func jsonMediaTypes(value: String) { #expect(AddEventValidation.isJSON(value)) }

  /// Compared byte by byte: only letters fold case ("\u{0F}" would equal
  /// "/" if every byte were folded).
  @Test(arguments: [
    "text/json", "application/jsonp", "application/x-json", "", "json", "application\u{0F}json",
    "APPLICATION\u{0F}JSON", "applicationOjson", "application/json,", "application /json",
  ])
  func otherMediaTypes(value: String) { #expect(!AddEventValidation.isJSON(value)) }
}

extension AddEventValidationTests {
  @Test func nameLengthCountsCharactersNotBytes() {
    #expect(
      check(
        "application/json", #"{"name":"\#(String(repeating: "é", count: 200))","userId":1}"#,
        max: 1_000) == nil)
    let long = check(
      "application/json", #"{"name":"\#(String(repeating: "é", count: 201))","userId":1}"#,
      max: 1_000)
    #expect(long?.message == "name must be at most 200 characters")
  }

  @Test(arguments: [
    (#"{"name":"ok","userId":1,"name":""}"#, #"duplicate key "name""#),
    (#"{"name":"ok","userId":1,"userId":{"x":1}}"#, #"duplicate key "userId""#),
    (#"{"name":"ok","userId":1,"meta":{"a":1,"a":2}}"#, #"duplicate key "a""#),
    (#"{"name":"\ud800","userId":1}"#, "lone surrogate escape"),
  ])
  func strictJSONProblemsNameTheirCause(body: String, problem: String) {
    let rejection = check("application/json", body)
    #expect(rejection?.status == 400)
    #expect(rejection?.code == .invalidBody)
    #expect(rejection?.message.contains(problem) == true, "\(rejection?.message ?? "accepted")")
  }

  @Test func invalidUTF8IsAnInvalidBody() {
    let body: [UInt8] = Array(#"{"name":""#.utf8) + [0xC3, 0x28] + Array(#"","userId":1}"#.utf8)
    guard
      case .failure(let rejection) = AddEventValidation.validate(
        contentType: "application/json", body: body, maxBodyBytes: 100)
    else { return #expect(Bool(false)) }
    #expect(rejection.message.contains("invalid UTF-8"))
  }
}

@Suite("The event sent upstream")
struct EventWithIDTests {
  private func make(_ body: String) throws -> JSONValue {
    let bytes = Array(body.utf8)
    let members = try AddEventValidation.validate(
      contentType: "application/json", body: bytes, maxBodyBytes: 1_000
    ).get()
    return try JSONValue.parse(EventWithID.make(id: "ev-1", body: bytes, members: members))
  }

  @Test func theClientsBytesPassThroughWithTheIDAdded() throws {
    let body = #" {"name":"a","userId":12345678901234567890,"x":[1.50,"é"]} "#
    let members = try AddEventValidation.validate(
      contentType: "application/json", body: Array(body.utf8), maxBodyBytes: 1_000
    ).get()
    let sent = EventWithID.make(id: "ev-1", body: Array(body.utf8), members: members)
    #expect(
      String(decoding: sent, as: UTF8.self)
        == #" {"id":"ev-1","name":"a","userId":12345678901234567890,"x":[1.50,"é"]} "#)
  }

  @Test func aClientIDIsReplaced() throws {
    let event = try make(#"{"id":"mine","name":"a","userId":1}"#)
    #expect(event["id"] == .string("ev-1"))
    guard case .object(let members) = event else { return #expect(Bool(false)) }
    #expect(members.map(\.0) == ["name", "userId", "id"])
  }
}

@Suite("Event ids")
struct EventIDTests {
  /// Version-4 UUIDs in canonical form, and no repeats.
  @Test func idsAreVersion4UUIDs() {
    let ids = (0..<2_000).map { _ in EventID.make() }
    for id in ids.prefix(200) {
      #expect(
        id.wholeMatch(of: #/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/#)
          != nil, "\(id)")
    }
    #expect(Set(ids).count == ids.count)
  }
}
