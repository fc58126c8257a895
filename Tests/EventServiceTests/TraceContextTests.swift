import Telemetry
import Testing

@testable import EventService

@Suite("Trace context (W3C traceparent)")
struct TraceContextTests {
  struct Counter: RandomNumberGenerator {
    var value: UInt64 = 0
    mutating func next() -> UInt64 {
      value += 1
      return value
    }
  }

  static func context(_ header: String?) -> TraceContext {
    var random = Counter()
    guard var header else { return TraceContext(traceparent: nil, random: &random) }
    return header.withUTF8 { TraceContext(traceparent: $0, random: &random) }
  }

  @Test func aValidTraceparentIsContinued() {
    let trace = Self.context("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    #expect(trace.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
    #expect(trace.flags == 1)
    let child = trace.childTraceparent(span: 0xabc)
    #expect(child == "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000abc-01")
  }

  /// A later version may carry more fields after a dash; flags pass through.
  @Test func aLaterVersionIsReadForTheFieldsItShares() {
    let trace = Self.context("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-ever")
    #expect(trace.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
    #expect(trace.flags == 0)
  }

  @Test(arguments: [
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 with more
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // short trace id
    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // later version, no dash
    "", "garbage",
  ])
  func anythingElseStartsANewTrace(header: String) {
    let trace = Self.context(header)
    #expect(trace.traceID != "4bf92f3577b34da6a3ce929d0e0e4736")
    #expect(trace.traceID.count == 32)
    #expect(trace.flags == 1)
  }

  @Test func withoutAHeaderANewSampledTraceStarts() {
    let trace = Self.context(nil)
    #expect(trace.traceID.count == 32)
    #expect(trace.traceID != String(repeating: "0", count: 32))
    #expect(trace.childTraceparent(span: 1).hasSuffix("-0000000000000001-01"))
  }

  /// End to end: every upstream request of a fan-out carries the caller's
  /// trace id, each with a span id of its own, and the caller's request id.
  @Test func aFanOutCarriesTheCallersTraceUpstream() throws {
    let stack = try ServiceStack.withScript { _, path, _ in
      if path == "/getUserById/1" {
        return ScriptedReply(body: #"{"id":1,"events":["a","b","c"]}"#)
      }
      return ScriptedReply(body: #"{"id":1,"name":"e","userId":1}"#)
    }
    defer { stack.stop() }
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    let response = try stack.send(
      .get(
        "/getEventsByUserId/1",
        headers: [("traceparent", traceparent), ("X-Request-Id", "caller-42")]))
    #expect(response.status == 200)
    let seen = stack.upstreamHeaders.all
    #expect(seen.count == 4)
    #expect(
      seen.allSatisfy {
        $0.traceparent?.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") == true
          && $0.traceparent?.hasSuffix("-01") == true && $0.requestID == "caller-42"
      })
    let spans = Set(seen.compactMap { $0.traceparent?.split(separator: "-")[2] })
    #expect(spans.count == 4)
    #expect(!spans.contains("b7ad6b7169203331"))
  }
}

@Suite("Hex digits")
struct HexDigitsTests {
  @Test(
    arguments: [
      0, 1, 0x9, 0xA, 0xF, 0x10, 0xDEAD_BEEF, 0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210,
      UInt64.max, 1 << 63,
    ] as [UInt64])
  func sixteenDigitsMatchTheStandardLibrary(value: UInt64) {
    let written = String(unsafeUninitializedCapacity: 18) { buffer in
      buffer[0] = UInt8(ascii: "<")
      buffer[17] = UInt8(ascii: ">")
      HexDigits.write(value, digits: 16, into: buffer, at: 1)
      return 18
    }
    let expected = String(value, radix: 16)
    #expect(written == "<" + String(repeating: "0", count: 16 - expected.count) + expected + ">")
  }
}
