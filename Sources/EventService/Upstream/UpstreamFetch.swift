import Libevent

/// One logical GET to the upstream: its attempts with backoff between them,
/// and everyone waiting for its result (more than one when coalesced). When
/// the last waiter leaves, the attempt in flight or the pending retry is
/// cancelled.
final class UpstreamFetch {
  let key: String
  private var waiters: [(id: Int, completion: (UpstreamResult) -> Void)] = []
  private var nextWaiterID = 0
  var call: ClientCall?
  var retryWork: LoopTimer?
  var attempt = 0
  private let onAbandoned: (UpstreamFetch) -> Void

  init(key: String, onAbandoned: @escaping (UpstreamFetch) -> Void) {
    self.key = key
    self.onAbandoned = onAbandoned
  }

  func join(_ completion: @escaping (UpstreamResult) -> Void) -> UpstreamHandle {
    let id = nextWaiterID
    nextWaiterID += 1
    waiters.append((id, completion))
    return UpstreamHandle { [weak self] in self?.leave(id) }
  }

  private func leave(_ id: Int) {
    guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
    waiters.remove(at: index)
    guard waiters.isEmpty else { return }
    call?.cancel()
    retryWork?.cancel()
    call = nil
    retryWork = nil
    onAbandoned(self)
  }

  func deliver(_ result: UpstreamResult) {
    let all = waiters
    waiters.removeAll()
    for waiter in all { waiter.completion(result) }
  }
}

/// Lets a caller stop waiting for an upstream result; its completion will not run.
public final class UpstreamHandle {
  private var onCancel: (() -> Void)?

  init(onCancel: @escaping () -> Void) { self.onCancel = onCancel }

  public func cancel() {
    let action = onCancel
    onCancel = nil
    action?()
  }
}
