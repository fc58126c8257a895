import Foundation
import Libevent
import MiniJSON
import Testing

/// The real binaries, run as a user would run them.
@Suite("event-service and event-mock binaries")
struct ExecutableTests {
  init() { ProcessSetup.install() }

  private func process(_ name: String, arguments: [String] = []) -> Process? {
    BuiltProduct.process(name, arguments: arguments)
  }

  @Test func badConfigExitsWithStatus2AndNamesTheKey() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bad-config-\(getpid()).json")
    try Data(#"{"FAILURE_THRESHOLD": "three"}"#.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    guard let process = process("event-service", arguments: ["--config", file.path]) else { return }
    let stderr = Pipe()
    process.standardError = stderr
    process.standardOutput = Pipe()
    try Launch.run(process)
    process.waitUntilExit()
    let output = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(process.terminationStatus == 2)
    #expect(output.split(separator: "\n").count == 1)
    #expect(output.contains("FAILURE_THRESHOLD"))
  }
}

extension ExecutableTests {
  /// SIGTERM or SIGINT with requests in flight: the listener closes at once,
  /// every request in flight still gets its real answer, and the process
  /// exits 0 well within SHUTDOWN_GRACE_MS.
  @Test(arguments: [SIGTERM, SIGINT])
  func signalDrainsInFlightRequestsAndExitsZero(signal: Int32) throws {
    var service = try RunningService(environment: [
      "PORT": "0", "LOG_LEVEL": "info", "SHUTDOWN_GRACE_MS": "3000",
      "MOCK": #"{"PORT": 0, "EVENT_DELAY_MS": 500, "FAIL_DELAY_MS": 300, "OK_COUNT": 1}"#,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    let port = service.port
    let event = #"{"name":"drain","userId":1}"#
    let inFlight = try [
      TestHTTP.open(.get("/getEventsByUserId/1"), port: port),
      TestHTTP.open(.get("/getEventsByUserId/2"), port: port),
      TestHTTP.open(.postJSON("/addEvent", event), port: port),
    ]
    usleep(100_000)
    let failing = try TestHTTP.open(.postJSON("/addEvent", event), port: port)
    usleep(100_000)
    kill(service.process.processIdentifier, signal)
    usleep(100_000)
    #expect(throws: TestFailure.self) { _ = try TestHTTP.open(.get("/health"), port: port) }
    let answers = try (inFlight + [failing]).map { try TestHTTP.receive(on: $0) }
    #expect(answers.map(\.status) == [200, 200, 200, 503])
    #expect(answers[0].json?.arrayValue?.count == 2)
    #expect(answers[1].json?.arrayValue?.count == 1)
    #expect(answers[2].json?["success"] == .bool(true))
    #expect(answers[3].errorCode == "upstream_unavailable")
    #expect(answers.allSatisfy { $0.header("Connection") == "close" })
    let (exited, seconds) = service.waitForExit(limit: 3)
    #expect(exited, "still running 3 s after the signal")
    #expect(seconds < 1, "took \(seconds) s to drain")
    #expect(service.process.terminationReason == .exit)
    #expect(service.process.terminationStatus == 0)
    #expect(service.log.contains(#"msg="signal received" signal=\#(signal)"#))
    #expect(service.log.contains("msg=stopped"))
  }
}

extension ExecutableTests {
  /// DRAIN_DELAY_MS: after SIGTERM, /ready says 503 at once while reads and
  /// /health are still served; then the listener closes and the process
  /// exits 0.
  @Test func aLameDuckSaysNotReadyButServesUntilItsDelayEnds() throws {
    var service = try RunningService(environment: [
      "PORT": "0", "LOG_LEVEL": "info", "DRAIN_DELAY_MS": "3000",
      "MOCK": #"{"PORT": 0, "ERROR_RATE": 0}"#,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    let port = service.port
    #expect(try TestHTTP.send(.get("/ready"), port: port).status == 200)
    kill(service.process.processIdentifier, SIGTERM)
    try TestHTTP.waitUntil {
      (try? TestHTTP.send(.get("/ready"), port: port).status) == 503
    }
    let draining = try TestHTTP.send(.get("/ready"), port: port)
    #expect(draining.json?["status"] == .string("draining"))
    #expect(try TestHTTP.send(.get("/getUsers"), port: port).status == 200)
    #expect(try TestHTTP.send(.get("/health"), port: port).status == 200)
    let (exited, _) = service.waitForExit(limit: 10)
    #expect(exited)
    #expect(service.process.terminationStatus == 0)
    #expect(service.log.contains("msg=\"draining: /ready answers 503"))
    #expect(service.log.contains("msg=stopped"))
  }

  /// A status viewer connected at SIGTERM: its stream ends with the last
  /// chunk (the drain does not wait for it), and the process exits 0.
  @Test func aStatusStreamEndsCleanlyOnShutdown() throws {
    var service = try RunningService(environment: [
      "PORT": "0", "LOG_LEVEL": "info", "SHUTDOWN_GRACE_MS": "10000",
      "MOCK": #"{"PORT": 0}"#,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    let viewer = try TestHTTP.open(.get("/status/stream"), port: service.port)
    // The first event arrives before the signal.
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4_096)
    while !String(decoding: received, as: UTF8.self).contains("event: status") {
      let n = read(viewer, &chunk, chunk.count)
      try #require(n > 0)
      received += chunk[0..<n]
    }
    kill(service.process.processIdentifier, SIGTERM)
    while case let n = read(viewer, &chunk, chunk.count), n > 0 { received += chunk[0..<n] }
    close(viewer)
    let stream = try TestHTTP.parse(received)
    let text = String(decoding: stream.body, as: UTF8.self)
    #expect(stream.status == 200)
    #expect(stream.header("Transfer-Encoding") == "chunked")
    #expect(text.hasSuffix("\r\n0\r\n\r\n"), "no last chunk: \(text.suffix(40))")
    let (exited, _) = service.waitForExit(limit: 10)
    #expect(exited)
    #expect(service.process.terminationStatus == 0)
  }

  /// `LOG_FORMAT` json: one JSON object per line; the request's line has the
  /// caller's request id and the trace id of its `traceparent`, and its
  /// numbers are JSON numbers. Probes are logged at debug: not at info.
  @Test func jsonLogLinesCarryTheRequestAndTraceIDs() throws {
    var service = try RunningService(environment: [
      "PORT": "0", "LOG_LEVEL": "info", "LOG_FORMAT": "json", "MOCK": #"{"PORT": 0}"#,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    let response = try TestHTTP.send(
      .get(
        "/getEventsByUserId/1",
        headers: [
          ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
          ("X-Request-Id", "log-check-1"),
        ]), port: service.port)
    #expect(response.status == 200)
    #expect(try TestHTTP.send(.get("/health"), port: service.port).status == 200)
    kill(service.process.processIdentifier, SIGTERM)
    _ = service.waitForExit(limit: 3)
    let lines = service.log.split(separator: "\n").map { try? JSONValue.parse(Array($0.utf8)) }
    #expect(!lines.isEmpty && lines.allSatisfy { $0 != nil }, "every line is JSON")
    let requests = lines.compactMap { $0 }.filter { $0["message"] == .string("request") }
    #expect(requests.count == 1, "the /health probe is not logged at info")
    let request = requests.first
    #expect(request?["request_id"] == .string("log-check-1"))
    #expect(request?["trace_id"] == .string("0af7651916cd43dd8448eb211c80319c"))
    #expect(request?["status"] == .number("200"))
    #expect(request?["upstream_calls"] == .number("3"))
    if case .number? = request?["duration_ms"] {
    } else {
      Issue.record("duration_ms is not a number: \(String(describing: request?["duration_ms"]))")
    }
    #expect(request?["level"] == .string("info"))
  }

  /// The release binary allocates through mimalloc (libevent's allocations
  /// too): linked, mapped, and reported at debug level.
  @Test func theReleaseBinaryRunsOnMimalloc() throws {
    let service = try RunningService(environment: [
      "PORT": "0", "LOG_LEVEL": "debug", "MOCK": #"{"PORT": 0}"#,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    _ = service.port
    // Read to the end: procfs reports a size of 0, and a sized read stops early.
    let file = try #require(
      FileHandle(forReadingAtPath: "/proc/\(service.process.processIdentifier)/maps"))
    let maps = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
    #expect(maps.contains("libmimalloc"))
    #expect(service.log.contains("allocator=\"mimalloc "))
  }

  /// `event-mock` alone, configured by flags.
  @Test func eventMockServesTheSeedDataWithItsFlags() throws {
    let flags = [
      "--port", "0", "--event-delay-ms", "10", "--ok-count", "1", "--extra-user", "big:3",
    ]
    guard let process = process("event-mock", arguments: flags) else { return }
    let stdout = Pipe()
    process.standardOutput = stdout
    try Launch.run(process)
    defer {
      process.terminate()
      process.waitUntilExit()
    }
    let line = String(decoding: stdout.fileHandleForReading.availableData, as: UTF8.self)
    let port = try #require(
      Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""),
      "\(line)")
    #expect(
      try TestHTTP.send(.get("/getUserById/1"), port: port).json?["events"]?.arrayValue?.count == 2)
    #expect(
      try TestHTTP.send(.get("/getUserById/big"), port: port).json?["events"]?.arrayValue?.count
        == 3)
    #expect(try TestHTTP.send(.get("/getEventById/big-event-2"), port: port).status == 200)
    #expect(try TestHTTP.send(.get("/getUserById/nobody"), port: port).status == 404)
    let event = #"{"id":"e1","name":"x","userId":1}"#
    #expect(try TestHTTP.send(.postJSON("/addEvent", event), port: port).status == 200)
    let failing = try TestHTTP.send(.postJSON("/addEvent", event), port: port)
    #expect(failing.status == 503)
    #expect(failing.json?["message"] == .string("Event API is experiencing high load"))
  }
}

extension ExecutableTests {
  /// Out of file descriptors, the listener pauses instead of spinning on
  /// accept(), says so once, and serves again when descriptors come back.
  @Test func runningOutOfFileDescriptorsDoesNotStallTheService() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"),
      let service = process("event-service")
    else { return }
    let wrapper = Process()
    wrapper.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
    wrapper.arguments = ["--nofile=48:48", service.executableURL!.path]
    wrapper.environment = BuiltProduct.environment([
      "PORT": "0", "LOG_LEVEL": "warning", "MOCK": #"{"ENABLED": false}"#,
      "API_BASE": "http://127.0.0.1:9",
    ])
    wrapper.currentDirectoryURL = service.currentDirectoryURL
    let stdout = Pipe()
    wrapper.standardOutput = stdout
    try Launch.run(wrapper)
    var stopped = false
    defer { if !stopped { wrapper.terminate() } }
    // LOG_LEVEL warning hides the listening line: find the port from /proc.
    var port: Int?
    for _ in 0..<100 where port == nil {
      usleep(20_000)
      port = listeningPorts(of: wrapper.processIdentifier).first
    }
    let servicePort = try #require(port)
    var held: [Int32] = []
    for _ in 0..<80 {
      if let fd = try? TestHTTP.connectSocket(port: servicePort) { held.append(fd) }
    }
    usleep(300_000)
    let cpuBefore = cpuTicks(of: wrapper.processIdentifier)
    usleep(500_000)
    let cpuSpent = cpuTicks(of: wrapper.processIdentifier) - cpuBefore
    #expect(cpuSpent < 20, "spent \(cpuSpent) ticks of CPU in 0.5 s while out of descriptors")
    held.forEach { close($0) }
    usleep(300_000)
    #expect(try TestHTTP.send(.get("/health"), port: servicePort).status == 200)
    wrapper.terminate()
    wrapper.waitUntilExit()
    stopped = true
    let log = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(log.contains("accept failed; pausing new connections"))
  }

  /// The TCP ports process `pid` listens on, from /proc/net/tcp.
  private func listeningPorts(of pid: Int32) -> [Int] {
    let fdDir = "/proc/\(pid)/fd"
    let inodes = Set(
      ((try? FileManager.default.contentsOfDirectory(atPath: fdDir)) ?? []).compactMap {
        fd -> String? in
        guard
          let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\(fd)"),
          link.hasPrefix("socket:[")
        else { return nil }
        return String(link.dropFirst(8).dropLast())
      })
    let table = (try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? ""
    return table.split(separator: "\n").dropFirst().compactMap { line in
      let fields = line.split(separator: " ")
      guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else {
        return nil
      }
      return Int(fields[1].split(separator: ":")[1], radix: 16)
    }
  }

  private func cpuTicks(of pid: Int32) -> Int {
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    return fields.count > 12 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
  }
}

extension ExecutableTests {
  /// No fake data by accident: with API_BASE left empty the upstream is the
  /// embedded mock wherever it listens, and the service says so (a warning,
  /// /health); with the mock off, an empty API_BASE does not start (exit 2).
  @Test func anEmptyAPIBaseFollowsTheMockAndIsRefusedWithoutIt() throws {
    var service = try RunningService(environment: [
      "PORT": "0", "LOG_LEVEL": "info", "MOCK": #"{"PORT": 0}"#,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    #expect(try TestHTTP.send(.get("/getUsers"), port: service.port).status == 200)
    let health = try TestHTTP.send(.get("/health"), port: service.port).json
    #expect(health?["upstream"] == .string("embedded-mock"))
    kill(service.process.processIdentifier, SIGTERM)
    _ = service.waitForExit(limit: 10)
    #expect(service.log.contains("serving the embedded mock's data, not a real event API"))

    guard let refused = BuiltProduct.process("event-service") else { return }
    refused.environment = BuiltProduct.environment([
      "PORT": "0", "MOCK": #"{"ENABLED": false}"#,
    ])
    let stderr = Pipe()
    refused.standardError = stderr
    refused.standardOutput = FileHandle.nullDevice
    try Launch.run(refused)
    refused.waitUntilExit()
    #expect(refused.terminationStatus == 2)
    let message = String(
      decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(message.contains("API_BASE"))
  }
}

extension ExecutableTests {
  /// systemd's Type=notify without libsystemd: READY=1 once it listens and
  /// STOPPING=1 at SIGTERM, each a datagram to $NOTIFY_SOCKET (a socket the
  /// test opens).
  @Test func readyAndStoppingAreSentToTheNotifySocket() throws {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("notify-\(getpid()).sock").path
    unlink(path)
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    defer {
      close(fd)
      unlink(path)
    }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    try #require(bound == 0)
    var wait = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    func next() -> String {
      var buffer = [UInt8](repeating: 0, count: 256)
      let n = recv(fd, &buffer, buffer.count, 0)
      return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : "nothing (errno \(errno))"
    }
    var service = try RunningService(environment: [
      "PORT": "0", "LOG_LEVEL": "info", "MOCK": #"{"PORT": 0}"#, "NOTIFY_SOCKET": path,
    ])
    defer { if service.process.isRunning { service.process.terminate() } }
    #expect(next() == "READY=1")
    #expect(try TestHTTP.send(.get("/ready"), port: service.port).status == 200)
    kill(service.process.processIdentifier, SIGTERM)
    #expect(next() == "STOPPING=1")
    let (exited, _) = service.waitForExit(limit: 10)
    #expect(exited && service.process.terminationStatus == 0)
  }

  /// A bad command line exits 64, which --help lists (and the systemd
  /// unit's RestartPreventExitStatus names).
  @Test func aBadCommandLineExits64AndHelpSaysSo() throws {
    guard let bogus = BuiltProduct.process("event-service", arguments: ["--bogus"]),
      let help = BuiltProduct.process("event-service", arguments: ["--help"])
    else { return }
    bogus.standardError = FileHandle.nullDevice
    bogus.standardOutput = FileHandle.nullDevice
    try Launch.run(bogus)
    bogus.waitUntilExit()
    #expect(bogus.terminationStatus == 64)
    let output = Pipe()
    help.standardOutput = output
    try Launch.run(help)
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    help.waitUntilExit()
    #expect(text.contains("64 bad command line"))
  }
}
