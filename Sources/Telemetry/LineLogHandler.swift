import Glibc
import Logging
import MiniJSON

/// Writes one line per record, logfmt or JSON (`LOG_FORMAT`), to a
/// `LogSink`: each line in one write, flushed as it is written whether stdout
/// is a terminal, a file or a pipe, and never waited for.
///
/// logfmt: `ts=… level=info msg=request method=GET path=/x request_id=… status=200`.
/// JSON: `{"time":"…","level":"info","message":"request","method":"GET",…}`.
public struct LineLogHandler: LogHandler {
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]
  private let format: LogFormat
  private let sink: LogSink

  public init(level: Logger.Level, format: LogFormat = .logfmt, sink: LogSink = .standardOutput) {
    logLevel = level
    self.format = format
    self.sink = sink
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    // Keys sorted: a dictionary's order would change from run to run.
    let fields = metadata.merging(event.metadata ?? [:]) { _, new in new }
    let keys = fields.keys.sorted()
    var line: String
    switch format {
    case .logfmt:
      line = "ts=\(Self.timestamp()) level=\(event.level) msg="
      Self.appendValue(event.message.description, to: &line)
      for key in keys { Self.appendField(key, fields[key]!, to: &line) }
    case .json:
      line = "{\"time\":\"\(Self.timestamp())\",\"level\":\"\(event.level)\",\"message\":"
      JSONValue.writeString(event.message.description, into: &line)
      for key in keys {
        line += ","
        JSONValue.writeString(key, into: &line)
        line += ":"
        Self.appendJSON(fields[key]!, to: &line)
      }
      line += "}"
    }
    line += "\n"
    sink.write(Array(line.utf8))
  }

  /// Numbers (integers, doubles, `LogNumber`s) as JSON numbers, a
  /// dictionary as an object (keys sorted); anything else as a string.
  private static func appendJSON(_ value: Logger.MetadataValue, to line: inout String) {
    if case .dictionary(let members) = value {
      line += "{"
      for (index, key) in members.keys.sorted().enumerated() {
        if index > 0 { line += "," }
        JSONValue.writeString(key, into: &line)
        line += ":"
        appendJSON(members[key]!, to: &line)
      }
      line += "}"
    } else if case .stringConvertible(let convertible) = value,
      convertible is any BinaryInteger || convertible is LogNumber
        || (convertible as? Double)?.isFinite == true
    {
      line += convertible.description
    } else {
      JSONValue.writeString(value.description, into: &line)
    }
  }

  private static func appendField(
    _ key: String, _ value: Logger.MetadataValue, to line: inout String
  ) {
    line += " \(key)="
    if case .dictionary(let members) = value {
      // `timeout:2,refused:1`: one token, keys sorted.
      let text = members.keys.sorted().map { "\($0):\(members[$0]!.description)" }
      appendValue(text.joined(separator: ","), to: &line)
    } else {
      appendValue(value.description, to: &line)
    }
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

/// A number already written out (`"501.2"`), logged as a number: bare in
/// logfmt, and a JSON number, not a string, in JSON lines.
public struct LogNumber: CustomStringConvertible, Sendable {
  public let description: String
  public init(_ text: String) { description = text }
}
