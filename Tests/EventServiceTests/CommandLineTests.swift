import EventService
import Foundation
import MiniJSON
import ServiceAssembly
import Testing

/// `event-service` as a command-line tool: version, help, configuration check.
@Suite("event-service command line")
struct CommandLineTests {
  /// Runs the built binary to completion: status, stdout, stderr.
  func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (
    status: Int32, out: String, err: String
  )? {
    guard let process = BuiltProduct.process("event-service", arguments: arguments) else {
      return nil
    }
    process.environment = BuiltProduct.environment(environment)
    let (out, err) = (Pipe(), Pipe())
    process.standardOutput = out
    process.standardError = err
    try Launch.run(process)
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
      process.terminationStatus, String(decoding: output, as: UTF8.self),
      String(decoding: errors, as: UTF8.self)
    )
  }

  @Test func versionPrintsTheReleaseAndExitsZero() throws {
    guard let result = try run(["--version"]) else { return }
    #expect(result.status == 0)
    #expect(result.out == ServiceVersion.current + "\n")
  }

  /// Every key with its default, and the exit statuses.
  @Test func helpListsEveryKeyAndTheExitStatuses() throws {
    guard let result = try run(["--help"]) else { return }
    #expect(result.status == 0)
    for (key, value) in AssemblyConfig.defaults {
      let line = result.out.split(separator: "\n").first {
        $0.hasPrefix("  ")
          && $0.split(separator: " ", omittingEmptySubsequences: true).first.map(String.init) == key
      }
      #expect(line?.hasSuffix(value.serialized) == true, "\(key)")
    }
    for status in ["0  stopped cleanly", "1  could not start", "2  bad configuration"] {
      #expect(result.out.contains(status))
    }
    #expect(result.out.contains("--check-config"))
  }

  /// The effective configuration, in `config.json`'s shape: it parses, and
  /// shows an environment override and the defaults.
  @Test func checkConfigPrintsWhatWouldRun() throws {
    guard
      let result = try run(
        ["--check-config"], environment: ["PORT": "4321", "MOCK": #"{"ERROR_RATE": 0}"#])
    else { return }
    #expect(result.status == 0)
    let document = try JSONValue.parse(Array(result.out.utf8))
    #expect(document["PORT"] == .number("4321"))
    #expect(document["HOST"] == .string("127.0.0.1"))
    #expect(document["MOCK"]?["ERROR_RATE"] == .number("0"))
    #expect(document["MOCK"]?["EVENT_DELAY_MS"] == .number("500"))
  }

  @Test func checkConfigRejectsABadConfigWithStatus2() throws {
    guard let result = try run(["--check-config"], environment: ["PORT": "many"]) else { return }
    #expect(result.status == 2)
    #expect(result.out.isEmpty)
    #expect(result.err.contains("PORT"))
  }

  /// Upstream header values are secrets: `--check-config` names the headers
  /// and redacts their values, from the variable and from the file alike.
  @Test func checkConfigRedactsUpstreamHeaderValues() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
      "headers-\(getpid()).json")
    try Data(#"{"X-File-Key": "file-secret-value"}"#.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    guard
      let result = try run(
        ["--check-config"],
        environment: [
          "UPSTREAM_HEADERS": #"{"Authorization": "Bearer inline-secret-value"}"#,
          "UPSTREAM_HEADERS_FILE": file.path,
        ])
    else { return }
    #expect(result.status == 0)
    #expect(!result.out.contains("secret-value"))
    let document = try JSONValue.parse(Array(result.out.utf8))
    #expect(document["UPSTREAM_HEADERS"]?["Authorization"] == .string("<redacted>"))
    #expect(document["UPSTREAM_HEADERS_FILE"] == .string(file.path))
  }
}
