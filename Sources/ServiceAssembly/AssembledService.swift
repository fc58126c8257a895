import EventService
import Libevent
import Logging
import MockUpstream
import Settings

/// The composition root: the event service and, unless `MOCK.ENABLED` is
/// false, the mock event API, on one loop. They meet only over HTTP: the
/// service's upstream address is the mock's listening address.
public final class AssembledService {
  public let service: ServiceApp
  public let mock: MockEventAPI?

  public init(loop: EventLoop, config: AssemblyConfig, logger: Logger) throws {
    var serviceConfig = config.service
    if config.mock.enabled {
      let mock = try MockEventAPI(loop: loop, settings: config.mock)
      self.mock = mock
      // With MOCK.PORT 0 the mock's port is only known now.
      if config.mock.port == 0 {
        serviceConfig.apiBase = UpstreamAddress(
          scheme: config.mock.servesTLS ? .https : .http, host: config.mock.host, port: mock.port,
          basePath: serviceConfig.apiBase.basePath)
      }
      logger.info(
        "mock upstream listening",
        metadata: [
          "address": .string("\(config.mock.host):\(mock.port)"),
          "tls": .stringConvertible(config.mock.servesTLS),
        ])
      if serviceConfig.apiBase.port != mock.port {
        logger.warning(
          "API_BASE does not point at the embedded mock",
          metadata: [
            "api_base": .string(serviceConfig.apiBase.description),
            "mock_port": .stringConvertible(mock.port),
          ])
      }
    } else {
      mock = nil
    }
    service = try ServiceApp(loop: loop, config: serviceConfig, logger: logger)
  }

  /// The service's graceful stop, then the mock's.
  public func shutdown(_ done: @escaping () -> Void) {
    service.shutdown { [mock] in
      mock?.stop()
      done()
    }
  }
}
