import Glibc
import Synchronization

/// Where log lines go: standard output, written so that logging never
/// blocks the event loop. When stdout is a pipe or a terminal whose reader
/// has fallen behind, a line that does not fit is dropped and counted
/// (`event_service_log_lines_dropped_total`) instead of waited for.
///
/// A pipe or terminal is reopened through `/proc/self/fd/1` with
/// `O_NONBLOCK`: a file description of our own, so the flag does not leak
/// to whoever else shares the original one. A socket (the journal's stream)
/// is written with `MSG_DONTWAIT`. Regular files never block.
public final class LogSink: Sendable {
  public static let standardOutput = LogSink(fd: 1)

  private enum Kind { case plain, socket }
  private let fd: Int32
  private let kind: Kind
  private let droppedLines = Atomic<Int>(0)

  public init(fd: Int32) {
    var info = stat()
    var target = fd
    var kind = Kind.plain
    if fstat(fd, &info) == 0 {
      switch info.st_mode & S_IFMT {
      case S_IFSOCK: kind = .socket
      case S_IFIFO, S_IFCHR:
        let reopened = open("/proc/self/fd/\(fd)", O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if reopened >= 0 { target = reopened }
      default: break
      }
    }
    self.fd = target
    self.kind = kind
  }

  /// Lines dropped because the reader was not keeping up.
  public var dropped: Int { droppedLines.load(ordering: .relaxed) }

  /// Writes one whole line, or drops it. A line the reader has room for in
  /// part is finished if it can be without waiting, else cut short with a
  /// newline (and counted), so the next line starts clean.
  public func write(_ line: [UInt8]) {
    line.withUnsafeBytes { bytes in
      var offset = 0
      while offset < bytes.count {
        let written = put(bytes.baseAddress! + offset, bytes.count - offset)
        if written > 0 {
          offset += written
          continue
        }
        if written < 0 && errno == EINTR { continue }
        if offset > 0 {
          var newline = UInt8(ascii: "\n")
          _ = put(&newline, 1)
        }
        droppedLines.add(1, ordering: .relaxed)
        return
      }
    }
  }

  private func put(_ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    switch kind {
    case .socket: send(fd, bytes, count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
    case .plain: Glibc.write(fd, bytes, count)
    }
  }
}
