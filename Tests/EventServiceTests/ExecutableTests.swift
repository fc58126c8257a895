import Foundation
import Testing

/// The real binary: a bad config stops it with status 2 and one line naming the key.
@Suite("event-service binary")
struct ExecutableTests {
  private var binary: URL {
    // Test bundles and executables share the build products folder.
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("event-service")
  }

  @Test func badConfigExitsWithStatus2AndNamesTheKey() throws {
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
      Issue.record("event-service not built next to the tests at \(binary.path)")
      return
    }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bad-config-\(getpid()).json")
    try Data(#"{"FAILURE_THRESHOLD": "three"}"#.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let process = Process()
    process.executableURL = binary
    process.arguments = ["--config", file.path]
    let stderr = Pipe()
    process.standardError = stderr
    process.standardOutput = Pipe()
    try process.run()
    process.waitUntilExit()
    let output = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(process.terminationStatus == 2)
    #expect(output.split(separator: "\n").count == 1)
    #expect(output.contains("FAILURE_THRESHOLD"))
  }
}
