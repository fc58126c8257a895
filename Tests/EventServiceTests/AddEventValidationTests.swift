import Testing

@testable import EventService

@Suite("AddEventValidation")
struct AddEventValidationTests {
  private func check(_ contentType: String?, _ body: String, max: Int = 100) -> AddEventRejection? {
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

  @Test(arguments: ["text/json", "application/jsonp", "application/x-json", "", "json"])
  func otherMediaTypes(value: String) { #expect(!AddEventValidation.isJSON(value)) }
}
