import CLibevent
import Glibc

/// One libevent `event_base`. Every other wrapper in this module holds its loop
/// strongly so that the base is freed last (docs/libevent-boundary.md).
///
/// Not thread-safe: create it, and everything attached to it, on the thread
/// that runs it. Only a `WakeHandle` crosses threads.
public final class EventLoop {
  let base: OpaquePointer
  /// What libevent may call back into: see `LoopRegistration`.
  var registry: [LoopRegistration] = []

  public init() {
    Self.installProcessDefaults
    guard let base = event_base_new() else { fatalError("event_base_new failed") }
    self.base = base
  }

  deinit { event_base_free(base) }

  /// Milliseconds on the monotonic clock.
  public var nowMs: Int64 { MonotonicClock.nowMs() }

  /// Runs until `stop()` or until nothing is left to wait for.
  public func run() { event_base_dispatch(base) }

  /// Ends `run()` after the callbacks of the current iteration.
  public func stop() { event_base_loopexit(base, nil) }

  /// SIGPIPE ignored (libevent writes with plain `write`) and libevent's own
  /// messages routed to stderr in our log shape; both once per process.
  private static let installProcessDefaults: Void = {
    signal(SIGPIPE, SIG_IGN)
    event_set_log_callback { severity, message in
      guard let message else { return }
      let level =
        severity >= EVENT_LOG_ERR ? "error" : severity >= EVENT_LOG_WARN ? "warning" : "debug"
      if level == "debug" { return }
      let line = "level=\(level) component=libevent msg=\"\(String(cString: message))\"\n"
      line.withCString { _ = write(2, $0, strlen($0)) }
    }
  }()
}
