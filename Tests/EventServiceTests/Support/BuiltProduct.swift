import Foundation
import Testing

/// The service's executables as a user runs them. `./scripts/test.sh` builds
/// the release products and names their folder in `EVENT_SERVICE_BIN_DIR`,
/// so process-level tests exercise the optimised binary that ships; a plain
/// `swift test` falls back to the products built next to the tests.
enum BuiltProduct {
  static var directory: URL {
    if let dir = ProcessInfo.processInfo.environment["EVENT_SERVICE_BIN_DIR"], !dir.isEmpty {
      return URL(fileURLWithPath: dir)
    }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  }

  /// `variables` plus the sanitizer settings of the test process, so a
  /// binary built with a sanitizer runs as `scripts/check/sanitize.sh` configured
  /// it (LeakSanitizer off there: it reports the Swift runtime's caches).
  static func environment(_ variables: [String: String]) -> [String: String] {
    let inherited = ProcessInfo.processInfo.environment.filter {
      ["ASAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"].contains($0.key)
    }
    return variables.merging(inherited) { own, _ in own }
  }

  /// A process for `name`, or nil with the test marked failed.
  static func process(_ name: String, arguments: [String] = []) -> Process? {
    let url = directory.appendingPathComponent(name)
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
      Issue.record("\(name) not built at \(url.path)")
      return nil
    }
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    process.currentDirectoryURL = FileManager.default.temporaryDirectory
    return process
  }
}

/// `event-service` started with `environment`, its stdout read until the
/// "event service listening" line gives its port.
struct RunningService {
  let process: Process
  let port: Int
  let stdout: Pipe
  private(set) var log = ""

  /// `wrapper`: a command that runs the binary (`prlimit --nofile=…`).
  /// `script`: a script of the repository's (`scripts/run.sh`) that runs
  /// the built binary (told where it is by `EVENT_SERVICE_BIN_DIR`).
  init(
    environment: [String: String], wrapper: [String] = [], script: [String]? = nil
  ) throws {
    guard let process = BuiltProduct.process("event-service") else {
      throw TestFailure("event-service not built")
    }
    var environment = environment
    if let script, let first = script.first {
      let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      process.executableURL = root.appendingPathComponent(first)
      process.arguments = Array(script.dropFirst())
      environment["EVENT_SERVICE_BIN_DIR"] = BuiltProduct.directory.path
      environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
    }
    if let launcher = wrapper.first, let binary = process.executableURL {
      process.executableURL = URL(fileURLWithPath: launcher)
      process.arguments = Array(wrapper.dropFirst()) + [binary.path] + (process.arguments ?? [])
    }
    process.environment = BuiltProduct.environment(environment)
    stdout = Pipe()
    process.standardOutput = stdout
    process.standardError = Pipe()
    try Launch.run(process)
    self.process = process
    var port: Int?
    let started = Date()
    while port == nil && Date().timeIntervalSince(started) < 10 {
      let chunk = stdout.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      log += String(decoding: chunk, as: UTF8.self)
      port = Self.listeningPort(in: log)
    }
    guard let port else {
      process.terminate()
      throw TestFailure("no listening line in: \(log)")
    }
    self.port = port
  }

  /// From the listening line, logfmt (`address=127.0.0.1:3000`) or JSON
  /// (`"address":"127.0.0.1:3000"`).
  private static func listeningPort(in log: String) -> Int? {
    guard
      let line = log.split(separator: "\n").first(where: { $0.contains("event service listening") }
      ),
      let match = line.firstMatch(of: #/address"?[=:]"?[0-9.]+:([0-9]+)/#)
    else { return nil }
    return Int(match.1)
  }

  /// Whether resident memory means anything here: under AddressSanitizer
  /// freed memory sits in its quarantine, so a test of memory bounds holds
  /// only for the builds users run.
  static var measuresMemory: Bool { ProcessInfo.processInfo.environment["ASAN_OPTIONS"] == nil }

  /// Resident memory now (`VmRSS`) and at its peak (`VmHWM`), in bytes.
  var residentBytes: Int { Self.status("VmRSS", of: process.processIdentifier) }
  var peakResidentBytes: Int { Self.status("VmHWM", of: process.processIdentifier) }

  private static func status(_ field: String, of pid: Int32) -> Int {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
      let kB = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return -1 }
    return kB * 1_024
  }

  /// Waits for exit (at most `limit` seconds) and returns the rest of stdout.
  mutating func waitForExit(limit: TimeInterval) -> (exited: Bool, seconds: TimeInterval) {
    let started = Date()
    while process.isRunning && Date().timeIntervalSince(started) < limit { usleep(10_000) }
    let seconds = Date().timeIntervalSince(started)
    guard !process.isRunning else {
      process.terminate()
      return (false, seconds)
    }
    log += String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (true, seconds)
  }
}
