import Foundation
import Glibc
import Logging
import MiniJSON
import Telemetry
import Testing

@testable import EventService

@Suite("Log lines")
struct LoggingTests {
  /// A pipe whose read end the test holds; the sink writes to the other.
  static func pipeSink() -> (sink: LogSink, read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    pipe(&fds)
    return (LogSink(fd: fds[1]), fds[0], fds[1])
  }

  /// Everything in the pipe now, without waiting for more.
  static func readAvailable(_ fd: Int32) -> String {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while case let n = read(fd, &chunk, chunk.count), n > 0 { out += chunk[..<n] }
    return String(decoding: out, as: UTF8.self)
  }

  @Test func jsonLinesCarryTimeLevelMessageAndTheMetadata() throws {
    let (sink, readEnd, writeEnd) = Self.pipeSink()
    defer {
      close(readEnd)
      close(writeEnd)
    }
    let logger = Logger(label: "test") { _ in
      LineLogHandler(level: .info, format: .json, sink: sink)
    }
    logger.info(
      "request", metadata: ["request_id": "abc", "trace_id": "0af7651916cd43dd8448eb211c80319c"])
    let text = Self.readAvailable(readEnd)
    #expect(text.hasSuffix("}\n"))
    #expect(text.split(separator: "\n").count == 1)
    let line = try JSONValue.parse(Array(text.utf8.dropLast()))
    #expect(line["level"] == .string("info"))
    #expect(line["message"] == .string("request"))
    #expect(line["request_id"] == .string("abc"))
    #expect(line["trace_id"] == .string("0af7651916cd43dd8448eb211c80319c"))
    #expect(line["time"]?.stringValue?.hasSuffix("Z") == true)
  }

  /// The failure counts: an object of numbers in JSON, one `cause:count`
  /// token in logfmt; keys sorted in both.
  @Test(arguments: [LogFormat.json, .logfmt])
  func failureCountsAreAnObjectInJSONAndOneTokenInLogfmt(_ format: LogFormat) throws {
    let (sink, readEnd, writeEnd) = Self.pipeSink()
    defer {
      close(readEnd)
      close(writeEnd)
    }
    let logger = Logger(label: "test") { _ in
      LineLogHandler(level: .info, format: format, sink: sink)
    }
    logger.info(
      "request",
      metadata: [
        "upstream_failures": .dictionary(["timeout": .stringConvertible(2), "refused": "1"]),
        "upstream_cause": "refused",
      ])
    let text = Self.readAvailable(readEnd)
    if format == .json {
      let line = try JSONValue.parse(Array(text.utf8.dropLast()))
      #expect(line["upstream_failures"]?["timeout"] == .number("2"))
      #expect(line["upstream_failures"]?["refused"] == .string("1"))
      #expect(text.contains(#""upstream_failures":{"refused":"1","timeout":2}"#))
    } else {
      #expect(text.contains(" upstream_cause=refused upstream_failures=refused:1,timeout:2\n"))
    }
  }

  /// Nobody reads the pipe: once it is full, lines are dropped and counted,
  /// and writing never waits.
  @Test func aFullPipeDropsLinesInsteadOfBlocking() throws {
    let (sink, readEnd, writeEnd) = Self.pipeSink()
    defer {
      close(readEnd)
      close(writeEnd)
    }
    let logger = Logger(label: "test") { _ in LineLogHandler(level: .info, sink: sink) }
    let started = ContinuousClock.now
    for i in 0..<5_000 {
      logger.info(
        "line",
        metadata: ["n": .stringConvertible(i), "pad": "\(String(repeating: "x", count: 100))"])
    }
    #expect(ContinuousClock.now - started < .seconds(5))
    #expect(sink.dropped > 0)
    // What did get through is whole lines.
    let text = Self.readAvailable(readEnd)
    #expect(text.split(separator: "\n").allSatisfy { $0.hasPrefix("ts=") && $0.hasSuffix("x") })
  }
}
