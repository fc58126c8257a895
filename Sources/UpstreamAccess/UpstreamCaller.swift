import Telemetry

/// The inbound request an upstream request is made for. Its id and trace go
/// upstream with every attempt: `X-Request-Id` as is, and `traceparent`
/// with the caller's trace id and a new span id per attempt. A coalesced
/// request carries the context of the caller that started it.
public struct UpstreamCaller {
  package let requestID: String
  package let trace: TraceContext
  /// When the request must be answered (`REQUEST_TIMEOUT_MS`), in
  /// microseconds on the client's clock; nil for no deadline.
  package var deadlineUs: Int64? = nil
  /// Set while the read breaker is OPEN (how long until it lets a probe
  /// through): no upstream call, only kept answers.
  package var breakerOpenForMs: Int64? = nil
  /// Told of each failed attempt made for this caller, and of each one not
  /// made (budget, breaker, deadline).
  package var observer: (any AttemptObserver)? = nil

  package init(
    requestID: String, trace: TraceContext, deadlineUs: Int64? = nil,
    breakerOpenForMs: Int64? = nil, observer: (any AttemptObserver)? = nil
  ) {
    self.observer = observer
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

/// Hears why the upstream attempts made for a request failed, or were not
/// made: the request log names them.
public protocol AttemptObserver: AnyObject {
  func attemptFailed(_ cause: FailureCause)
}
