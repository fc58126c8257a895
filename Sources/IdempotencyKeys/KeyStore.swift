import Resilience

/// Where idempotency keys live (SPEC §5, §9): the handler asks and tells
/// through this, not knowing whether the keys are in this instance's memory
/// (`MemoryKeyStore`) or in Redis, shared by every instance
/// (`RedisKeyStore`). Answers come on the loop, possibly later.
public protocol KeyStore: AnyObject {
  /// A keyed request arrives: its body's fingerprint (SHA-256) and the id a
  /// new event would get. `done` runs once.
  func begin(
    key: String, fingerprint: [UInt8], newEventID: String,
    _ done: @escaping (KeyDecision) -> Void)
  /// The request that `begin` let through ended with `outcome`; `done` runs
  /// once it is recorded (or could not be: the lease then lapses), so that
  /// the client's answer never comes before what a retry elsewhere would
  /// find.
  func finish(
    _ ticket: KeyTicket, outcome: IdempotencyStore.Ending, then done: @escaping () -> Void)
  /// The request that `begin` let through was not sent after all.
  func release(_ ticket: KeyTicket)
  /// For `/health`.
  var health: KeyStoreHealth { get }
  /// Calls `done` once everything told so far is written (at shutdown).
  func flush(_ done: @escaping () -> Void)
}

/// What a keyed request may do.
public enum KeyDecision: Sendable, Equatable {
  /// Send the event with this id; the key is in flight (held by `ticket`)
  /// until `finish` or `release`.
  case send(eventID: String, ticket: KeyTicket)
  /// The key's earlier request ended so: answer it again.
  case replay(eventID: String, outcome: IdempotencyStore.Ending)
  /// Another request with the key is in flight (409).
  case inProgress
  /// The key was used with another body (422).
  case bodyMismatch
  /// The store cannot answer (503 `idempotency_store_unavailable`).
  case unavailable(reason: String)
}

/// The right to finish or release one key's request: the key and who holds
/// it (a lease taken over by another instance is no longer this one's).
public struct KeyTicket: Sendable, Equatable {
  public let key: String
  public let owner: String

  public init(key: String, owner: String) {
    self.key = key
    self.owner = owner
  }
}

public struct KeyStoreHealth: Sendable, Equatable {
  /// `memory` or `redis`.
  public let kind: String
  /// `ok` (memory), or the Redis connection's state: `connected`,
  /// `connecting`, `disconnected`.
  public let state: String
  /// Why Redis is not connected, when it is not.
  public let lastError: String?

  public init(kind: String, state: String, lastError: String? = nil) {
    self.kind = kind
    self.state = state
    self.lastError = lastError
  }
}
