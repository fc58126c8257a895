import FoundationEssentials

/// A JSON value as FoundationEssentials' `JSONDecoder` reads it: the
/// reference MiniJSON is checked against. It lives here, in the fuzz target,
/// and nowhere else.
indirect enum ReferenceJSON: Decodable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([ReferenceJSON])
  case object([String: ReferenceJSON])

  private struct Name: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  init(from decoder: any Decoder) throws {
    if let container = try? decoder.container(keyedBy: Name.self) {
      var members: [String: ReferenceJSON] = [:]
      for name in container.allKeys {
        members[name.stringValue] = try container.decode(ReferenceJSON.self, forKey: name)
      }
      self = .object(members)
    } else if var container = try? decoder.unkeyedContainer() {
      var elements: [ReferenceJSON] = []
      while !container.isAtEnd { elements.append(try container.decode(ReferenceJSON.self)) }
      self = .array(elements)
    } else {
      let container = try decoder.singleValueContainer()
      if container.decodeNil() {
        self = .null
      } else if let bool = try? container.decode(Bool.self) {
        self = .bool(bool)
      } else if let number = try? container.decode(Double.self) {
        self = .number(number)
      } else {
        self = .string(try container.decode(String.self))
      }
    }
  }

  static func decode(_ bytes: [UInt8]) -> ReferenceJSON? {
    try? JSONDecoder().decode(ReferenceJSON.self, from: Data(bytes))
  }
}
