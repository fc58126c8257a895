import Libevent
import Resilience
import Telemetry

/// One logical GET to the upstream as the client drives it: its
/// `FetchMachine`, the requests and timers the machine asked for, and
/// everyone waiting for its result (more than one when coalesced). When the
/// last waiter leaves, the fetch is abandoned.
package final class UpstreamFetch {
  package let key: String
  package let route: UpstreamRoute
  /// Whom the fetch is made for (its first waiter, when coalesced).
  package let caller: UpstreamCaller
  @exclusivity(unchecked) var machine: FetchMachine
  @exclusivity(unchecked) var primary: (any TransportCall)?
  @exclusivity(unchecked) var hedge: (any TransportCall)?
  /// Made on first use; each holds the fetch until `releaseTimers`.
  @exclusivity(unchecked) var retryTimer: (any ScheduledTimer)?
  @exclusivity(unchecked) var hedgeTimer: (any ScheduledTimer)?
  /// What a failed fetch delivers: the latest failed attempt's failure.
  @exclusivity(unchecked) var lastFailure: UpstreamFailure?
  /// True while the client carries out this fetch's actions; an attempt
  /// that ends meanwhile (a failure found at once) waits in `endedAtOnce`.
  @exclusivity(unchecked) var isStepping = false
  @exclusivity(unchecked) var endedAtOnce: (attempt: FetchAttempt, result: UpstreamResult)?

  /// A struct, not a tuple: an array of tuples is destroyed element by
  /// element through generic metadata.
  private struct Waiter {
    let id: Int
    /// Nil once the waiter left while the result was being handed out.
    var completion: ((UpstreamResult) -> Void)?
    let observer: (any AttemptObserver)?
  }
  @exclusivity(unchecked) private var waiters: [Waiter] = []
  /// Waiters of a result being handed out over several loop turns, and
  /// the next one to serve.
  @exclusivity(unchecked) private var delivering: [Waiter] = []
  @exclusivity(unchecked) private var nextToServe = 0
  @exclusivity(unchecked) private var continuation: (any ScheduledTimer)?
  @exclusivity(unchecked) private var nextWaiterID = 0
  private let onAbandoned: (UpstreamFetch) -> Void

  package init(
    key: String, route: UpstreamRoute, caller: UpstreamCaller, machine: FetchMachine,
    onAbandoned: @escaping (UpstreamFetch) -> Void
  ) {
    self.key = key
    self.route = route
    self.caller = caller
    self.machine = machine
    self.onAbandoned = onAbandoned
  }

  package func join(
    _ completion: @escaping (UpstreamResult) -> Void, observer: (any AttemptObserver)?
  ) -> UpstreamHandle {
    let id = nextWaiterID
    nextWaiterID += 1
    waiters.append(Waiter(id: id, completion: completion, observer: observer))
    return UpstreamHandle(fetch: self, waiter: id)
  }

  /// Tells everyone waiting now why an attempt failed or was not made.
  package func attemptFailed(_ cause: FailureCause) {
    for waiter in waiters { waiter.observer?.attemptFailed(cause) }
  }

  package func leave(_ id: Int) {
    if let index = delivering[nextToServe...].firstIndex(where: { $0.id == id }) {
      delivering[index].completion = nil
      return
    }
    guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
    waiters.remove(at: index)
    if waiters.isEmpty { onAbandoned(self) }
  }

  /// Cancels the timers and lets go of them (they hold the fetch).
  package func releaseTimers() {
    retryTimer?.cancel()
    hedgeTimer?.cancel()
    retryTimer = nil
    hedgeTimer = nil
  }

  /// Waiters served per loop turn. A coalesced fetch may have a thousand;
  /// answering them all in one turn holds every reply back until the last
  /// is built (libevent writes them on the next turn), which added about
  /// 20 ms to each of 1,000 concurrent fan-outs. In batches, each batch's
  /// replies leave while the next is built.
  package static let waitersPerTurn = 32

  package func deliver(_ result: UpstreamResult, clock: any Scheduler) {
    delivering = waiters
    nextToServe = 0
    waiters.removeAll()
    serve(result, clock: clock)
  }

  private func serve(_ result: UpstreamResult, clock: any Scheduler) {
    let end = min(delivering.count, nextToServe + Self.waitersPerTurn)
    while nextToServe < end {
      let completion = delivering[nextToServe].completion
      nextToServe += 1
      completion?(result)
    }
    if nextToServe < delivering.count {
      let timer = clock.makeTimer { [self] in serve(result, clock: clock) }
      continuation = timer
      timer.arm(afterMs: 0)
    } else {
      delivering.removeAll()
      nextToServe = 0
      continuation = nil
    }
  }
}

/// Lets a caller stop waiting for an upstream result; its completion will not run.
public final class UpstreamHandle {
  /// Held until cancelled: a handle kept after its result arrived only
  /// keeps a finished fetch (no waiters, no call) from being freed.
  private var fetch: UpstreamFetch?
  private let waiter: Int

  /// `fetch` nil: answered at once (a kept answer), nothing to cancel.
  package init(fetch: UpstreamFetch?, waiter: Int) {
    self.fetch = fetch
    self.waiter = waiter
  }

  public func cancel() {
    let fetch = self.fetch
    self.fetch = nil
    fetch?.leave(waiter)
  }
}
