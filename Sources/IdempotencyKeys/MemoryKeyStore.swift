import Libevent
import Resilience

/// Keys in this instance's memory: `Resilience.IdempotencyStore` on the
/// loop's clock. Every answer comes at once.
public final class MemoryKeyStore: KeyStore {
  private var store: IdempotencyStore
  private let clock: any Scheduler

  public init(ttlMs: Int64, capacity: Int, clock: any Scheduler) {
    store = IdempotencyStore(ttlMs: ttlMs, capacity: capacity)
    self.clock = clock
  }

  public func begin(
    key: String, fingerprint: [UInt8], newEventID: String,
    _ done: @escaping (KeyDecision) -> Void
  ) {
    switch store.begin(key: key, fingerprint: fingerprint, newEventID: newEventID, now: clock.nowMs)
    {
    case .send(let eventID): done(.send(eventID: eventID, ticket: KeyTicket(key: key, owner: "")))
    case .replay(let eventID, let outcome): done(.replay(eventID: eventID, outcome: outcome))
    case .inProgress: done(.inProgress)
    case .bodyMismatch: done(.bodyMismatch)
    }
  }

  public func finish(
    _ ticket: KeyTicket, outcome: IdempotencyStore.Ending, then done: @escaping () -> Void
  ) {
    store.finish(key: ticket.key, outcome: outcome)
    done()
  }

  public func release(_ ticket: KeyTicket) { store.release(key: ticket.key) }

  public var health: KeyStoreHealth { KeyStoreHealth(kind: "memory", state: "ok") }

  public func flush(_ done: @escaping () -> Void) { done() }
}
