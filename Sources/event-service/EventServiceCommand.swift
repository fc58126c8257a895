import ArgumentParser
import CMimalloc
import EventService
import Glibc
import Libevent
import Logging
import ServiceAssembly
import Settings
import Telemetry

@main
struct EventServiceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "event-service",
    abstract: "The event service, with the mock event API embedded unless MOCK.ENABLED is false.",
    discussion: HelpText.discussion,
    version: ServiceVersion.current)

  @Option(
    name: .long, help: "Configuration file (default: ./config.json; missing means all defaults).")
  var config: String?

  @Flag(
    name: .long,
    help:
      "Check the configuration, print it as it would run (file, environment, defaults), and exit."
  )
  var checkConfig = false

  func run() throws {
    ProcessSetup.install()
    let settings: AssemblyConfig
    do {
      if checkConfig {
        // One read of the file: `effective` checks everything `load` does.
        let effective = try AssemblyConfig.effective(
          path: config, environment: ProcessEnvironment.variables)
        print(HelpText.configDocument(effective), terminator: "")
        return
      }
      settings = try AssemblyConfig.load(path: config, environment: ProcessEnvironment.variables)
    } catch {
      FileHandleStandardError.writeLine(error.description)
      throw ExitCode(2)
    }
    let (level, format) = (settings.logLevel, settings.logFormat)
    LoggingSystem.bootstrap { _ in LineLogHandler(level: level, format: format) }
    let logger = Logger(label: "event-service")
    let openFiles = ProcessLimits.raiseOpenFileLimit()
    logger.debug(
      "process",
      metadata: [
        "open_file_limit": .stringConvertible(openFiles),
        "allocator": .string("mimalloc \(mi_version())"),
      ])

    let loop = EventLoop()
    let app: AssembledService
    do {
      app = try AssembledService(loop: loop, config: settings, logger: logger)
    } catch {
      logger.error("cannot start", metadata: ["error": .string("\(error)")])
      throw ExitCode(1)
    }
    // After a burst, mimalloc keeps what it freed; this gives it back.
    app.service.releaseMemory = { mi_collect(true) }
    // The loop holds the watchers while they are registered, and they hold
    // the app: nothing here needs to keep either alive. `close()` lets go.
    // systemd (Type=notify): ready once listening, stopping at the signal.
    let notifier = ServiceNotifier(environment: ProcessEnvironment.variables)
    for signal in [SIGTERM, SIGINT] {
      loop.onSignal(signal) { number in
        logger.info("signal received", metadata: ["signal": .stringConvertible(number)])
        notifier.stopping()
        app.shutdown { loop.stop() }
      }
    }
    notifier.ready()
    loop.run()
    loop.close()
  }
}
