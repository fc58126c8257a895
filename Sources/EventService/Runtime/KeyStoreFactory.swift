import IdempotencyKeys
import Libevent
import Logging
import Settings
import Telemetry

/// The key store `IDEMPOTENCY_STORE` names, on the loop: nil for `memory`
/// (the context makes its own), or Redis over one `RedisConnection` whose
/// state changes are logged and whose failed commands are counted.
enum KeyStoreFactory {
  static func make(
    loop: EventLoop, config: ServiceConfig, logger: Logger, metrics: ServiceMetrics
  ) -> (any KeyStore)? {
    guard config.idempotencyMaxKeys > 0,
      case .redis(let host, let port, let database) = config.idempotencyStore
    else { return nil }
    let connection = RedisConnection(
      loop: loop, host: host, port: port, database: database, commandTimeoutMs: 1_000)
    let address = config.idempotencyStore.description
    connection.onStatusChange = { [weak connection] status in
      switch status {
      case .connected:
        logger.info("idempotency store connected", metadata: ["store": .string(address)])
      case .disconnected:
        logger.warning(
          "idempotency store unavailable: keyed writes answer 503 until it is back",
          metadata: [
            "store": .string(address),
            "reason": .string(connection?.lastError ?? "unknown"),
          ])
      case .connecting: break
      }
    }
    let store = RedisKeyStore(
      connection: connection, ttlMs: config.idempotencyTTLMs,
      leaseMs: config.effectiveIdempotencyLeaseMs)
    store.onError = { _ in metrics.recordKeyStoreError() }
    return store
  }
}
