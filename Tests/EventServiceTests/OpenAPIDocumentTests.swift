import Foundation
import Testing

@testable import EventService

/// docs/openapi.yaml is the contract: built into the binary byte for byte,
/// served at /openapi.yaml, and the README's endpoint table agrees with it.
@Suite("The OpenAPI document")
struct OpenAPIDocumentTests {
  static let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static func file(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: repository.appendingPathComponent(path)))
  }

  @Test func theBinaryCarriesTheDocumentByteForByte() throws {
    #expect(
      OpenAPIDocument.bytes == (try Self.file("docs/openapi.yaml")),
      "run scripts/dev/generate-openapi.sh after editing docs/openapi.yaml")
  }

  @Test func itIsServedAtOpenapiYaml() throws {
    let stack = try ServiceStack.withMock()
    defer { stack.stop() }
    let response = try stack.get("/openapi.yaml")
    #expect(response.status == 200)
    #expect(response.header("Content-Type") == "application/yaml; charset=utf-8")
    #expect(response.body == OpenAPIDocument.bytes)
  }

  /// The operations the document describes (methods with an answer other
  /// than 405; HEAD goes with GET), as "METHOD /path".
  static func documentedOperations() throws -> Set<String> {
    let lines = String(decoding: try file("docs/openapi.yaml"), as: UTF8.self)
      .split(separator: "\n", omittingEmptySubsequences: false)
    var operations = Set<String>()
    var path: String?
    for (index, line) in lines.enumerated() {
      if line.hasPrefix("  /"), line.hasSuffix(":") {
        path = String(line.dropFirst(2).dropLast()).replacingOccurrences(of: "{id}", with: ":id")
      } else if line.hasPrefix("components:") {
        path = nil
      } else if let path, let method = ["get", "post"].first(where: { line == "    \($0):" }) {
        // An operation of its own (not a 405 alias): its next line is not "summary: Not allowed".
        if index + 1 < lines.count, !lines[index + 1].contains("Not allowed") {
          operations.insert("\(method.uppercased()) \(path)")
        }
      }
    }
    return operations
  }

  /// Every `METHOD /path` named in the first column of the README's endpoint table.
  static func readmeOperations() throws -> Set<String> {
    let readme = String(decoding: try file("README.md"), as: UTF8.self)
    guard let table = readme.components(separatedBy: "| endpoint | answers |").dropFirst().first
    else { return [] }
    var operations = Set<String>()
    for row in table.split(separator: "\n").prefix(while: { $0.hasPrefix("|") }) {
      let first = row.split(separator: "|").first ?? ""
      for match in first.matches(of: #/`(GET|POST) (/[^`]*)`/#) {
        operations.insert("\(match.1) \(match.2)")
      }
    }
    return operations
  }

  @Test func theReadmeEndpointTableMatchesTheDocument() throws {
    let documented = try Self.documentedOperations()
    #expect(documented.count >= 7)
    #expect(try Self.readmeOperations() == documented)
  }
}
