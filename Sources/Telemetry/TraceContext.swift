/// W3C Trace Context (`traceparent`): the trace a request belongs to, and
/// the span the service opened for it. A valid incoming `traceparent` is
/// continued; anything else, or none, starts a new trace. Every upstream
/// request is a child span with an id of its own.
package struct TraceContext: Sendable, Equatable {
  /// The 16-byte trace id, as two halves.
  package let traceHigh: UInt64
  package let traceLow: UInt64
  /// The service's span for this request (the parent of its upstream calls).
  package let spanID: UInt64
  /// `trace-flags` (bit 0: sampled), passed on unchanged.
  package let flags: UInt8

  /// Continues the caller's trace from a `traceparent` value, or starts a
  /// new one (sampled) when there is none or it does not parse.
  /// Inlinable: specialized for the caller's generator, not called through
  /// its witness table once per number.
  @inlinable
  package init<G: RandomNumberGenerator>(traceparent: UnsafeBufferPointer<UInt8>?, random: inout G)
  {
    let span = Self.nonZero(&random)
    if let traceparent, let parsed = Self.parse(traceparent) {
      (traceHigh, traceLow, flags) = parsed
    } else {
      (traceHigh, traceLow, flags) = (Self.nonZero(&random), random.next(), 1)
    }
    spanID = span
  }

  /// "4bf92f3577b34da6a3ce929d0e0e4736", the form log lines carry.
  package var traceID: String {
    String(unsafeUninitializedCapacity: 32) { buffer in
      HexDigits.write(traceHigh, digits: 16, into: buffer, at: 0)
      HexDigits.write(traceLow, digits: 16, into: buffer, at: 16)
      return 32
    }
  }

  /// The `traceparent` of an upstream request: this trace, a new span id.
  /// Written in one buffer: joining the parts as `String`s cost more than
  /// the rest of the upstream request's own work (docs/performance.md).
  package func childTraceparent(span: UInt64) -> String {
    String(unsafeUninitializedCapacity: 55) { buffer in
      buffer[0] = UInt8(ascii: "0")
      buffer[1] = UInt8(ascii: "0")
      buffer[2] = UInt8(ascii: "-")
      HexDigits.write(traceHigh, digits: 16, into: buffer, at: 3)
      HexDigits.write(traceLow, digits: 16, into: buffer, at: 19)
      buffer[35] = UInt8(ascii: "-")
      HexDigits.write(span, digits: 16, into: buffer, at: 36)
      buffer[52] = UInt8(ascii: "-")
      HexDigits.write(UInt64(flags), digits: 2, into: buffer, at: 53)
      return 55
    }
  }

  /// `version-traceid-parentid-flags`. Version 00 has exactly these four
  /// fields; a later version may append more after a dash (RFC: parse what
  /// is known). Version ff, all-zero ids and upper-case hex are invalid.
  package static func parse(_ text: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64, UInt8)? {
    guard text.count >= 55, let version = hexValue(text, 0, 2), version != 0xFF,
      text[2] == UInt8(ascii: "-"), text[35] == UInt8(ascii: "-"), text[52] == UInt8(ascii: "-"),
      let high = hexValue(text, 3, 16), let low = hexValue(text, 19, 16),
      let parent = hexValue(text, 36, 16), let flags = hexValue(text, 53, 2),
      high | low != 0, parent != 0
    else { return nil }
    if version == 0 ? text.count != 55 : text.count > 55 && text[55] != UInt8(ascii: "-") {
      return nil
    }
    return (high, low, UInt8(flags))
  }

  /// Lower-case hex digits `text[start..<start+count]` as a number.
  private static func hexValue(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int)
    -> UInt64?
  {
    var value: UInt64 = 0
    for byte in text[start..<start + count] {
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      default: return nil
      }
      value = value << 4 | UInt64(digit)
    }
    return value
  }

  @inlinable
  package static func nonZero<G: RandomNumberGenerator>(_ random: inout G) -> UInt64 {
    var value: UInt64 = 0
    while value == 0 { value = random.next() }
    return value
  }
}

/// A small, fast generator for trace and span ids (xoshiro256**), seeded
/// once from the system's: ids need to be unique, not secret, and the
/// system generator costs a system call per number.
package struct TraceIDGenerator: RandomNumberGenerator {
  @usableFromInline var state: (UInt64, UInt64, UInt64, UInt64)

  package init() {
    var system = SystemRandomNumberGenerator()
    state = (system.next(), system.next(), system.next(), system.next())
    if state == (0, 0, 0, 0) { state.0 = 1 }
  }

  @inlinable
  package mutating func next() -> UInt64 {
    let result = rotate(state.1 &* 5, 7) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = rotate(state.3, 45)
    return result
  }

  @inlinable
  package func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
