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

  /// While the service serves the embedded mock's data: a warning every minute.
  private var fakeDataWarning: LoopTimer?

  public init(loop: EventLoop, config: AssemblyConfig, logger: Logger) throws {
    var serviceConfig = config.service
    if config.mock.enabled {
      let mock = try MockEventAPI(loop: loop, settings: config.mock)
      self.mock = mock
      // API_BASE left empty follows the mock wherever it listens; with
      // MOCK.PORT 0 (the port only known now) so does an explicit one, by
      // its host name (a certificate names it).
      if serviceConfig.apiBaseFollowsMock || config.mock.port == 0 {
        let explicit = !serviceConfig.apiBaseFollowsMock
        serviceConfig.apiBase = UpstreamAddress(
          scheme: config.mock.servesTLS ? .https : .http,
          host: explicit ? serviceConfig.apiBase.host : config.mock.host, port: mock.port,
          basePath: explicit ? serviceConfig.apiBase.basePath : "")
      }
      serviceConfig.upstreamIsEmbeddedMock =
        serviceConfig.apiBase.port == mock.port
        && ["127.0.0.1", "localhost", config.mock.host].contains(serviceConfig.apiBase.host)
      logger.info(
        "mock upstream listening",
        metadata: [
          "address": .string("\(config.mock.host):\(mock.port)"),
          "tls": .stringConvertible(config.mock.servesTLS),
        ])
      if !serviceConfig.upstreamIsEmbeddedMock {
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
    if serviceConfig.upstreamIsEmbeddedMock { warnOfFakeData(loop: loop, logger: logger) }
  }

  /// At start and every minute: the answers are the embedded mock's.
  private func warnOfFakeData(loop: EventLoop, logger: Logger) {
    let warn = {
      logger.warning(
        "serving the embedded mock's data, not a real event API: set API_BASE and MOCK={\"ENABLED\":false} for production"
      )
    }
    warn()
    let timer = LoopTimer(loop: loop) { [weak self] in
      warn()
      self?.fakeDataWarning?.arm(afterMs: 60_000)
    }
    fakeDataWarning = timer
    timer.arm(afterMs: 60_000)
  }

  /// The service's graceful stop, then the mock's.
  public func shutdown(_ done: @escaping () -> Void) {
    fakeDataWarning?.cancel()
    fakeDataWarning = nil
    service.shutdown { [mock] in
      mock?.stop()
      done()
    }
  }
}
