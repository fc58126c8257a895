import CLibevent

/// One libevent `event_base`. Every other wrapper in this module holds its loop
/// strongly so that the base is freed last (docs/libevent-boundary.md).
///
/// Not thread-safe: create it, and everything attached to it, on the thread
/// that runs it. Only a `WakeHandle` crosses threads.
public final class EventLoop {
  let base: OpaquePointer
  /// What libevent may call back into: see `LoopRegistration`.
  var registry: [LoopRegistration] = []

  /// Call `ProcessSetup.install()` once before the first loop.
  public init() {
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
}
