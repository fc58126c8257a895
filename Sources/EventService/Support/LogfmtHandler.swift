import Glibc
import Logging
import MiniJSON

/// Writes one logfmt line per record to stdout with a single `write(2)`, so
/// every line is flushed as it is written, whether stdout is a tty, a file or
/// a pipe: `ts=… level=info msg="request" id=… method=GET path=/x status=200`.
public struct LogfmtHandler: LogHandler {
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]
  private let fd: Int32

  public init(level: Logger.Level, fd: Int32 = 1) {
    logLevel = level
    self.fd = fd
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var line = "ts=\(Self.timestamp()) level=\(event.level) msg="
    Self.appendValue(event.message.description, to: &line)
    // Keys sorted: a dictionary's order would change from run to run.
    let fields = metadata.merging(event.metadata ?? [:]) { _, new in new }
    for key in fields.keys.sorted() { Self.appendField(key, fields[key]!, to: &line) }
    line += "\n"
    var bytes = Array(line.utf8)
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeMutableBytes {
        write(fd, $0.baseAddress! + offset, $0.count - offset)
      }
      if written <= 0 { break }
      offset += written
    }
  }

  private static func appendField(
    _ key: String, _ value: Logger.MetadataValue, to line: inout String
  ) {
    line += " \(key)="
    appendValue(value.description, to: &line)
  }

  /// Bare when it is a plain token, else a JSON string literal (quotes,
  /// backslashes and control characters escaped), which logfmt readers accept.
  private static func appendValue(_ value: String, to line: inout String) {
    let plain =
      !value.isEmpty
      && value.utf8.allSatisfy { $0 > 0x20 && $0 != 0x22 && $0 != 0x3D && $0 != 0x5C && $0 < 0x7F }
    if plain { line += value } else { JSONValue.writeString(value, into: &line) }
  }

  /// UTC, millisecond precision, without Foundation's formatter cost.
  private static func timestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var parts = tm()
    var seconds = now.tv_sec
    gmtime_r(&seconds, &parts)
    func pad(_ n: Int32, _ width: Int) -> String {
      let s = String(n)
      return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
      + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
  }
}
