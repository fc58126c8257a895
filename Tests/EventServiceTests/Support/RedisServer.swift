import Foundation

/// A `redis-server` (Debian's) of the test's own on a free port, with no
/// persistence; stopped by its PID. `stop()` then `start()` again brings it
/// back on the same port (Redis down and up).
final class RedisServer {
  let port: Int
  private var process: Process?

  init() throws {
    let (fd, port) = try TestSocket.bound(SOCK_STREAM)
    close(fd)
    self.port = port
    try start()
  }

  var url: String { "redis://127.0.0.1:\(port)" }

  func start() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    process.arguments = [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--daemonize", "no", "--loglevel", "warning",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try Launch.run(process)
    self.process = process
    try TestHTTP.waitUntil {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      defer { close(fd) }
      return TestSocket.connect(fd, host: "127.0.0.1", port: port)
    }
  }

  /// Redis hangs (SIGSTOP): connections stay open, nothing is answered.
  func pause() {
    if let process { kill(process.processIdentifier, SIGSTOP) }
  }

  func resume() {
    if let process { kill(process.processIdentifier, SIGCONT) }
  }

  func stop() {
    guard let process, process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    kill(process.processIdentifier, SIGCONT)
    process.waitUntilExit()
    self.process = nil
  }

  deinit { stop() }
}
