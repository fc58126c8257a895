import Telemetry

/// The inbound request an upstream request is made for. Its id and trace go
/// upstream with every attempt: `X-Request-Id` as is, and `traceparent`
/// with the caller's trace id and a new span id per attempt. A coalesced
/// request carries the context of the caller that started it.
public struct UpstreamCaller: Sendable {
  package let requestID: String
  package let trace: TraceContext
  /// When the request must be answered (`REQUEST_TIMEOUT_MS`), in
  /// microseconds on the client's clock; nil for no deadline.
  package var deadlineUs: Int64? = nil
  /// Set while the read breaker is OPEN (how long until it lets a probe
  /// through): no upstream call, only kept answers.
  package var breakerOpenForMs: Int64? = nil

  package init(
    requestID: String, trace: TraceContext, deadlineUs: Int64? = nil,
    breakerOpenForMs: Int64? = nil
  ) {
    self.requestID = requestID
    self.trace = trace
    self.deadlineUs = deadlineUs
    self.breakerOpenForMs = breakerOpenForMs
  }

  /// The headers of one upstream attempt.
  package func headers(span: UInt64) -> [(String, String)] {
    [("X-Request-Id", requestID), ("traceparent", trace.childTraceparent(span: span))]
  }
}
