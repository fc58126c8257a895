import Libevent

/// One logical GET to the upstream: its attempts with backoff between them,
/// and everyone waiting for its result (more than one when coalesced). When
/// the last waiter leaves, the attempt in flight or the pending retry is
/// cancelled.
final class UpstreamFetch {
  let key: String
  /// A struct, not a tuple: an array of tuples is destroyed element by
  /// element through generic metadata.
  private struct Waiter {
    let id: Int
    /// Nil once the waiter left while the result was being handed out.
    var completion: ((UpstreamResult) -> Void)?
  }
  private var waiters: [Waiter] = []
  /// Waiters of a result being handed out over several loop turns, and
  /// the next one to serve.
  private var delivering: [Waiter] = []
  private var nextToServe = 0
  private var continuation: LoopTimer?
  private var nextWaiterID = 0
  var call: ClientCall?
  var retryWork: LoopTimer?
  /// Hedging (event fetches only): the timer that sends the hedge, the
  /// hedge in flight, when the fetch started, and a failure of one of the
  /// two kept while the other may still succeed.
  var hedgeTimer: LoopTimer?
  var hedgeCall: ClientCall?
  var startedUs: Int64 = 0
  var heldFailure: UpstreamResult?
  var attempt = 0
  private let onAbandoned: (UpstreamFetch) -> Void

  /// Whom the fetch is made for (its first waiter, when coalesced).
  let caller: UpstreamCaller

  init(key: String, caller: UpstreamCaller, onAbandoned: @escaping (UpstreamFetch) -> Void) {
    self.key = key
    self.caller = caller
    self.onAbandoned = onAbandoned
  }

  func join(_ completion: @escaping (UpstreamResult) -> Void) -> UpstreamHandle {
    let id = nextWaiterID
    nextWaiterID += 1
    waiters.append(Waiter(id: id, completion: completion))
    return UpstreamHandle(fetch: self, waiter: id)
  }

  func leave(_ id: Int) {
    if let index = delivering[nextToServe...].firstIndex(where: { $0.id == id }) {
      delivering[index].completion = nil
      return
    }
    guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
    waiters.remove(at: index)
    guard waiters.isEmpty else { return }
    call?.cancel()
    retryWork?.cancel()
    call = nil
    retryWork = nil
    stopHedging()
    onAbandoned(self)
  }

  /// Waiters served per loop turn. A coalesced fetch may have a thousand;
  /// answering them all in one turn holds every reply back until the last
  /// is built (libevent writes them on the next turn), which added about
  /// 20 ms to each of 1,000 concurrent fan-outs. In batches, each batch's
  /// replies leave while the next is built.
  static let waitersPerTurn = 32

  /// Cancels the hedge and its timer, if any.
  func stopHedging() {
    hedgeTimer?.cancel()
    hedgeTimer = nil
    hedgeCall?.cancel()
    hedgeCall = nil
  }

  func deliver(_ result: UpstreamResult, loop: EventLoop) {
    delivering = waiters
    nextToServe = 0
    waiters.removeAll()
    serve(result, loop: loop)
  }

  private func serve(_ result: UpstreamResult, loop: EventLoop) {
    let end = min(delivering.count, nextToServe + Self.waitersPerTurn)
    while nextToServe < end {
      let completion = delivering[nextToServe].completion
      nextToServe += 1
      completion?(result)
    }
    if nextToServe < delivering.count {
      continuation = loop.schedule(afterMs: 0) { [self] in serve(result, loop: loop) }
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

  init(fetch: UpstreamFetch, waiter: Int) {
    self.fetch = fetch
    self.waiter = waiter
  }

  public func cancel() {
    let fetch = self.fetch
    self.fetch = nil
    fetch?.leave(waiter)
  }
}
