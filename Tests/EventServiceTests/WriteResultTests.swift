import Resilience
import Testing
import UpstreamAccess

@testable import EventService

/// What the breaker counts for each way a write can end, in one table.
@Suite("WriteResult: a write's ending and what the breaker counts")
struct WriteResultTests {
  static func response(_ status: Int, _ body: String) -> UpstreamResponse {
    UpstreamResponse(status: status, body: Array(body.utf8), json: nil)
  }

  @Test func eachEndingCountsAsTheBreakerExpects() {
    let rows: [(UpstreamResult, BreakerOutcome, String)] = [
      (.success(Self.response(200, #"{"success":true}"#)), .success, "stored"),
      (.success(Self.response(200, "")), .success, "stored, no body"),
      (.success(Self.response(200, #"{"success":false}"#)), .failure, "a failure in disguise"),
      (.refused(Self.response(404, "{}")), .neutral, "refused: an answer"),
      (.failure(.transport(.local)), .neutral, "never sent"),
      (.failure(.transport(.timeout)), .failure, "timed out"),
      (.failure(.transport(.tls("certificate verify failed"))), .failure, "TLS failed"),
      (.failure(.transport(.dns("api.test: no address"))), .failure, "name did not resolve"),
      (.failure(.status(503)), .failure, "a 5xx"),
    ]
    for (result, expected, what) in rows {
      #expect(WriteResult(result).breakerOutcome == expected, "\(what)")
    }
  }
}
