import MiniJSON

/// Feeds the same bytes to MiniJSON and to `JSONDecoder` and reports any
/// disagreement that is not one of the documented differences — each of
/// which is confirmed independently, never taken on MiniJSON's word:
///
/// - duplicate member names: MiniJSON must reject them (I-JSON), `JSONDecoder` keeps one;
/// - trailing commas, a UTF-8 byte order mark, UTF-16/32 input: `JSONDecoder`
///   accepts them, MiniJSON (RFC 8259, UTF-8 only) must not;
/// - names equal only under Unicode canonical equivalence: distinct JSON
///   names for MiniJSON, one name for `JSONDecoder`;
/// - numbers beyond `Double`'s range: MiniJSON keeps their text, `JSONDecoder` refuses them;
/// - zeros with an exponent (`0e4`, `0E1`, `-0.0e-3`): valid RFC 8259, which
///   `JSONDecoder` refuses (found by this fuzzer);
/// - nesting deeper than MiniJSON's limit (64);
/// - a malformed number under a name that an equivalent name shadows:
///   JSONDecoder checks numbers only when it decodes them (found by this fuzzer).
enum Differential {
  static let maxDepth = 64

  static func check(_ bytes: [UInt8]) -> String? {
    let mini: Result<JSONValue, JSONParseError>
    do { mini = .success(try JSONValue.parse(bytes, maxDepth: maxDepth)) } catch {
      mini = .failure(error)
    }
    if let problem = checkValidateAgrees(bytes, with: mini) { return problem }
    let reference = ReferenceJSON.decode(bytes)
    let scan = reference == nil ? nil : StructureScan(bytes)
    if let scan, scan.hasDuplicateName, case .success = mini {
      return "MiniJSON accepted a duplicate member name"
    }
    switch (mini, reference) {
    case (.failure, nil): return nil
    case (.failure(let error), .some):
      return rejectionIsDocumented(error, bytes: bytes, scan: scan!)
        ? nil : "MiniJSON rejected what JSONDecoder accepts: \(error)"
    case (.success(let value), nil):
      return value.containsNumber(where: isRefusedByJSONDecoder)
        ? nil : "MiniJSON accepted what JSONDecoder rejects"
    case (.success(let value), .some(let expected)):
      if scan!.hasEquivalentNames { return nil }
      if let problem = checkRoundTrip(value) { return problem }
      return convert(value) == expected ? nil : "values differ"
    }
  }

  private static func rejectionIsDocumented(
    _ error: JSONParseError, bytes: [UInt8], scan: StructureScan
  ) -> Bool {
    if error.reason.hasPrefix("duplicate key") { return scan.hasDuplicateName }
    // JSONDecoder reads one of two equivalent names' values and never checks
    // the other's number: nothing it says about that document is comparable.
    if scan.hasEquivalentNames { return true }
    if error.reason == "nesting too deep" { return scan.maxDepth >= maxDepth }
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) || bytes.contains(0) { return true }
    return scan.hasTrailingComma
  }

  /// `validate` must accept exactly what `parse` accepts, and report its kind.
  private static func checkValidateAgrees(
    _ bytes: [UInt8], with parsed: Result<JSONValue, JSONParseError>
  ) -> String? {
    let kind = try? JSONValue.validate(bytes, maxDepth: maxDepth)
    switch parsed {
    case .success(let value):
      return kind == value.kind ? nil : "validate says \(String(describing: kind))"
    case .failure: return kind == nil ? nil : "validate accepted what parse rejects"
    }
  }

  /// What MiniJSON writes, it reads back as the same value.
  private static func checkRoundTrip(_ value: JSONValue) -> String? {
    guard let again = try? JSONValue.parse(value.bytes, maxDepth: maxDepth + 1) else {
      return "MiniJSON cannot read its own output"
    }
    return again == value ? nil : "round trip changed the value"
  }

  /// Valid numbers `JSONDecoder` refuses: beyond `Double`'s range either
  /// way, and zeros written with an exponent (`0e4`, `-0.0e-3`; it takes
  /// `0e+4` and `-0.0e0`) — both found by this fuzzer.
  private static func isRefusedByJSONDecoder(_ text: String) -> Bool {
    let mantissa = text.prefix { $0 != "e" && $0 != "E" }
    let isZero = !mantissa.contains { "123456789".contains($0) }
    if isZero && mantissa.count < text.count { return true }
    guard let number = Double(text) else { return true }
    return number.isInfinite || (number == 0 && !isZero)
  }

  private static func convert(_ value: JSONValue) -> ReferenceJSON {
    switch value {
    case .null: .null
    case .bool(let b): .bool(b)
    case .number(let text): .number(Double(text) ?? .nan)
    case .string(let s): .string(s)
    case .array(let elements): .array(elements.map(convert))
    case .object(let members):
      .object(
        Dictionary(members.map { ($0.0, convert($0.1)) }, uniquingKeysWith: { first, _ in first }))
    }
  }
}

extension JSONValue {
  func containsNumber(where matches: (String) -> Bool) -> Bool {
    switch self {
    case .number(let text): matches(text)
    case .array(let elements): elements.contains { $0.containsNumber(where: matches) }
    case .object(let members): members.contains { $0.1.containsNumber(where: matches) }
    default: false
    }
  }

  var kind: JSONKind {
    switch self {
    case .null: .null
    case .bool: .bool
    case .number: .number
    case .string: .string
    case .array: .array
    case .object: .object
    }
  }
}
