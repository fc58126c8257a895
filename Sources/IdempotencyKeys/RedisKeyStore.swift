import Libevent
import Resilience

/// Keys in Redis, shared by every instance (SPEC §9), over one
/// `RedisConnection` on the loop. Each step is one Lua script
/// (`RedisScripts`), atomic in Redis. While Redis cannot answer, `begin`
/// answers `.unavailable` at once and nothing is sent upstream; a `finish`
/// or `release` that cannot be written leaves the lease to lapse, after
/// which the key is taken over with the same event id.
public final class RedisKeyStore: KeyStore {
  private let connection: RedisConnection
  private let ttlMs: Int64
  private let leaseMs: Int64
  /// This instance, in every lease it takes: `<random>-<n>`.
  private let instance: String
  private var nextTicket = 0
  /// Each step's script SHA-1 once Redis has loaded it (`RedisScripts.Step`).
  private var shas: [[UInt8]?] = [nil, nil, nil]
  private var loading = [false, false, false]
  /// Told of every command that failed (Redis unreachable, or an error
  /// reply), with the reason.
  public var onError: ((String) -> Void)?

  public init(connection: RedisConnection, ttlMs: Int64, leaseMs: Int64) {
    self.connection = connection
    self.ttlMs = ttlMs
    self.leaseMs = leaseMs
    var random = SystemRandomNumberGenerator()
    instance = String(random.next() as UInt64, radix: 16)
  }

  public func begin(
    key: String, fingerprint: [UInt8], newEventID: String,
    _ done: @escaping (KeyDecision) -> Void
  ) {
    guard connection.status == .connected else {
      let reason =
        "Redis is \(connection.status.rawValue)" + (connection.lastError.map { ": \($0)" } ?? "")
      onError?(reason)
      done(.unavailable(reason: reason))
      return
    }
    nextTicket += 1
    let ticket = KeyTicket(key: key, owner: "\(instance)-\(nextTicket)")
    let arguments = [
      Self.hex(fingerprint), newEventID, String(ttlMs), String(leaseMs), ticket.owner,
    ]
    eval(.begin, key: key, arguments.map { Array($0.utf8) }) { [weak self] result in
      switch result {
      case .success(.array(let parts)):
        guard let decision = Self.decision(parts, ticket: ticket) else {
          self?.onError?("unexpected reply to begin: \(parts)")
          done(.unavailable(reason: "unexpected reply from Redis"))
          return
        }
        done(decision)
      case .success(.error(let message)):
        self?.onError?(message)
        done(.unavailable(reason: message))
      case .success(let other):
        self?.onError?("unexpected reply to begin: \(other)")
        done(.unavailable(reason: "unexpected reply from Redis"))
      case .failure(let failure):
        self?.onError?(failure.reason)
        done(.unavailable(reason: failure.reason))
      }
    }
  }

  public func finish(
    _ ticket: KeyTicket, outcome: IdempotencyStore.Ending, then done: @escaping () -> Void
  ) {
    let (name, status, body): (String, String, [UInt8]) =
      switch outcome {
      case .stored: ("stored", "", [])
      case .rejected(let status, let body): ("rejected", String(status), body)
      case .failed: ("failed", "", [])
      }
    eval(
      .finish, key: ticket.key,
      [Array(ticket.owner.utf8), Array(name.utf8), Array(status.utf8), body]
    ) { [weak self] result in
      self?.reportErrors(result)
      done()
    }
  }

  public func release(_ ticket: KeyTicket) {
    eval(.release, key: ticket.key, [Array(ticket.owner.utf8)], then: reportErrors)
  }

  public var health: KeyStoreHealth {
    KeyStoreHealth(
      kind: "redis", state: connection.status.rawValue,
      lastError: connection.status == .connected ? nil : connection.lastError)
  }

  /// Redis answers in order: the reply to a PING sent now comes after those
  /// of every command sent before it (or the connection's timeout ends the
  /// wait). Then the connection is closed.
  public func flush(_ done: @escaping () -> Void) {
    guard connection.status == .connected else {
      connection.stop()
      done()
      return
    }
    connection.send([Array("PING".utf8)]) { [connection] _ in
      connection.stop()
      done()
    }
  }

  private func reportErrors(_ result: Result<RedisConnection.Reply, RedisConnection.Unavailable>) {
    switch result {
    case .success(.error(let message)): onError?(message)
    case .failure(let failure): onError?(failure.reason)
    case .success: break
    }
  }

  /// Runs one step's script: by its SHA-1 (`EVALSHA`, 40 bytes) once Redis
  /// has it, else by its text (`EVAL`), loading it meanwhile. A Redis that
  /// lost its script cache (restarted) answers `NOSCRIPT`: the step is run
  /// again by its text, and the script loaded again.
  private func eval(
    _ step: RedisScripts.Step, key: String, _ arguments: [[UInt8]],
    then completion: @escaping (Result<RedisConnection.Reply, RedisConnection.Unavailable>) -> Void
  ) {
    let tail = [Array("1".utf8), Array((RedisScripts.keyPrefix + key).utf8)] + arguments
    guard let sha = shas[step.rawValue] else {
      evalText(step, tail, completion)
      return
    }
    connection.send([Array("EVALSHA".utf8), sha] + tail) { [weak self] result in
      if case .success(.error(let message)) = result, message.hasPrefix("NOSCRIPT") {
        self?.shas[step.rawValue] = nil
        self?.evalText(step, tail, completion)
        return
      }
      completion(result)
    }
  }

  private func evalText(
    _ step: RedisScripts.Step, _ tail: [[UInt8]],
    _ completion: @escaping (Result<RedisConnection.Reply, RedisConnection.Unavailable>) -> Void
  ) {
    if !loading[step.rawValue] {
      loading[step.rawValue] = true
      connection.send([Array("SCRIPT".utf8), Array("LOAD".utf8), step.script]) {
        [weak self] result in
        self?.loading[step.rawValue] = false
        if case .success(.string(let sha)) = result { self?.shas[step.rawValue] = sha }
      }
    }
    connection.send([Array("EVAL".utf8), step.script] + tail, completion: completion)
  }

  /// The begin script's reply as a decision; nil if it is not one.
  static func decision(_ parts: [RedisConnection.Reply], ticket: KeyTicket) -> KeyDecision? {
    let texts = parts.map { part -> [UInt8]? in
      if case .string(let bytes) = part { return bytes }
      return nil
    }
    guard let first = texts.first.flatMap({ $0 }) else { return nil }
    func text(_ index: Int) -> String? {
      texts.indices.contains(index) ? texts[index].map { String(decoding: $0, as: UTF8.self) } : nil
    }
    switch String(decoding: first, as: UTF8.self) {
    case "send":
      return text(1).map { .send(eventID: $0, ticket: ticket) }
    case "busy": return .inProgress
    case "mismatch": return .bodyMismatch
    case "replay":
      guard let id = text(1), let outcome = text(2) else { return nil }
      switch outcome {
      case "stored": return .replay(eventID: id, outcome: .stored)
      case "rejected":
        guard let status = text(3).flatMap({ Int($0) }), let body = texts[4] else { return nil }
        return .replay(eventID: id, outcome: .rejected(status: status, body: body))
      default: return nil
      }
    default: return nil
    }
  }

  static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}
