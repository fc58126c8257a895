import MiniJSON

/// The checks of POST /addEvent (docs/api.md), in order:
/// media type (415), size (413), then the body itself (400, naming the field).
public enum AddEventValidation {
  public static let maxNameLength = 200

  /// The event as parsed, ready to be given its id.
  public static func validate(contentType: String?, body: [UInt8], maxBodyBytes: Int) -> Result<
    [(String, JSONValue)], ServiceError
  > {
    guard var text = contentType else {
      return validate(
        contentType: UnsafeBufferPointer<UInt8>?.none, body: body, maxBodyBytes: maxBodyBytes)
    }
    return text.withUTF8 { validate(contentType: $0, body: body, maxBodyBytes: maxBodyBytes) }
  }

  /// The same, with the `Content-Type` header's bytes as they arrived.
  public static func validate(
    contentType: UnsafeBufferPointer<UInt8>?, body: [UInt8], maxBodyBytes: Int
  ) -> Result<[(String, JSONValue)], ServiceError> {
    guard let contentType, isJSON(contentType) else {
      return .failure(
        .unsupportedMediaType(got: contentType.map { String(decoding: $0, as: UTF8.self) }))
    }
    guard body.count <= maxBodyBytes else {
      return .failure(.payloadTooLarge(size: body.count, limit: maxBodyBytes))
    }
    let value: JSONValue
    do { value = try JSONValue.parse(body) } catch {
      return .failure(
        .invalidBody(
          body.isEmpty
            ? "body is empty; expected a JSON object" : "body is not valid JSON: \(error)"))
    }
    guard case .object(let members) = value else {
      return .failure(.invalidBody("body must be a JSON object"))
    }
    if let problem = nameProblem(value["name"]) ?? userIdProblem(value["userId"]) {
      return .failure(.invalidBody(problem))
    }
    return .success(members)
  }

  private static func nameProblem(_ name: JSONValue?) -> String? {
    guard let name else { return "name is required" }
    guard let text = name.stringValue else { return "name must be a string" }
    if text.isEmpty { return "name must not be empty" }
    // Characters never outnumber bytes; past the limit, stop counting (a
    // long name costs no more than its first 201 characters).
    if text.utf8.count > maxNameLength && text.prefix(maxNameLength + 1).count > maxNameLength {
      return "name must be at most \(maxNameLength) characters"
    }
    return nil
  }

  private static func userIdProblem(_ userId: JSONValue?) -> String? {
    switch userId {
    case nil: return "userId is required"
    case .string(let text)?: return text.isEmpty ? "userId must not be empty" : nil
    case .number(let text)?:
      return JSONValue.number(text).integerText == nil
        ? "userId must be an integer or a string, not a fraction" : nil
    default: return "userId must be a non-empty string or an integer"
    }
  }

  /// `application/json`, any case, parameters allowed (`; charset=utf-8`).
  /// Compared as bytes: splitting and lowercasing `String`s was the largest
  /// cost of the request (docs/performance.md).
  static func isJSON(_ contentType: UnsafeBufferPointer<UInt8>) -> Bool {
    var end = contentType.firstIndex(of: UInt8(ascii: ";")) ?? contentType.count
    var start = 0
    while start < end, contentType[start] == 0x20 || contentType[start] == 0x09 { start += 1 }
    while end > start, contentType[end - 1] == 0x20 || contentType[end - 1] == 0x09 { end -= 1 }
    guard end - start == applicationJSON.count else { return false }
    for i in 0..<applicationJSON.count {
      let expected = applicationJSON[i]
      // ASCII letters compare with bit 5 set (lower case); '/' exactly.
      let byte =
        expected == UInt8(ascii: "/") ? contentType[start + i] : contentType[start + i] | 0x20
      guard byte == expected else { return false }
    }
    return true
  }

  static func isJSON(_ contentType: String) -> Bool {
    var contentType = contentType
    return contentType.withUTF8 { isJSON($0) }
  }

  private static let applicationJSON = Array("application/json".utf8)
}
