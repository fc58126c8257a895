import Logging

/// `LOG_FORMAT`: how a log line is written.
public enum LogFormat: String, Sendable {
  /// `ts=… level=info msg=request request_id=… trace_id=… status=200`
  case logfmt
  /// One JSON object per line: `{"time":…,"level":…,"message":…,…}`,
  /// then the metadata (request id, trace id, …) as members.
  case json
}
