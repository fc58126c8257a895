import Foundation
import MiniJSON
import ServiceAssembly
import Testing

/// One list of keys and defaults (`AssemblyConfig.defaults`, read from the
/// code that parses them); `config.json`, the operations guide's table and the API
/// reference's table must say the same, key for key.
@Suite("config.json, the defaults and the documentation agree")
struct ConfigDocumentationTests {
  private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../..")

  private static func read(_ path: String) throws -> String {
    try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
  }

  /// Defaults by key, numbers compared by value (`1` and `1.0` agree).
  private static func normalised(_ pairs: [(String, JSONValue)]) -> [String: String] {
    Dictionary(
      pairs.map { key, value in
        if case .number(let text) = value, let number = Double(text) { return (key, "\(number)") }
        return (key, value.serialized)
      }, uniquingKeysWith: { first, _ in first })
  }

  private var defaults: [String: String] { Self.normalised(AssemblyConfig.defaults) }

  @Test func everyKeyHasOneDefault() {
    let keys = AssemblyConfig.defaults.map(\.key)
    #expect(keys.count == Set(keys).count)
    #expect(keys.contains("PORT") && keys.contains("MOCK.EXTRA_USERS"))
  }

  @Test func configJSONHoldsEveryKeyWithItsDefault() throws {
    let document = try JSONValue.parse(try Self.read("config.json"))
    guard case .object(let members) = document else { return #expect(Bool(false)) }
    var flat: [(String, JSONValue)] = []
    for (key, value) in members {
      if key == "MOCK", case .object(let mock) = value {
        flat += mock.map { ("MOCK." + $0.0, $0.1) }
      } else {
        flat.append((key, value))
      }
    }
    #expect(Self.normalised(flat) == defaults)
  }

  @Test(arguments: ["docs/operations.md", "docs/api.md"])
  func theConfigurationTableMatches(file: String) throws {
    #expect(try Self.configurationTable(in: Self.read(file)) == defaults)
  }

  /// The rows of the table under "## Configuration": `| `KEY` / `KEY2` | `v` / `v2` | … |`.
  private static func configurationTable(in text: String) throws -> [String: String] {
    let section = text.components(separatedBy: "\n## Configuration")[1]
      .components(separatedBy: "\n## ")[0]
    var pairs: [(String, JSONValue)] = []
    for line in section.split(separator: "\n") where line.hasPrefix("| `") {
      let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
      let keys = cells[0].components(separatedBy: " / ").map { $0.trimmingCharacters(in: ["`"]) }
      let values = cells[1].components(separatedBy: " / ").map {
        $0.trimmingCharacters(in: ["`"])
      }
      guard keys.count == values.count else {
        throw TestFailure("\(line): \(keys.count) keys, \(values.count) defaults")
      }
      for (key, value) in zip(keys, values) {
        pairs.append((key, try JSONValue.parse(value)))
      }
    }
    return normalised(pairs)
  }
}
