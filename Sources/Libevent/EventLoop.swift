internal import CLibevent
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

  /// Call `ProcessSetup.install()` once before the first loop.
  public init() {
    // A precise clock: by default libevent reads CLOCK_MONOTONIC_COARSE,
    // which ticks every 4 ms on a 250 Hz kernel, so a timer could fire up to
    // 4 ms early; a hedge timer set at the running p95 then fired before
    // most fetches that were on time.
    guard let config = event_config_new() else { fatalError("event_config_new failed") }
    defer { event_config_free(config) }
    event_config_set_flag(config, Int32(EVENT_BASE_FLAG_PRECISE_TIMER.rawValue))
    guard let base = event_base_new_with_config(config) else {
      fatalError("event_base_new_with_config failed")
    }
    self.base = base
  }

  deinit { event_base_free(base) }

  /// Milliseconds on the monotonic clock.
  public var nowMs: Int64 { MonotonicClock.nowMs() }

  /// Microseconds on the monotonic clock.
  public var nowUs: Int64 { Int64(MonotonicClock.nowNs() / 1_000) }

  /// Runs until `stop()` or until nothing is left to wait for.
  public func run() {
    event_base_dispatch(base)
  }

  /// Ends `run()` after the callbacks of the current iteration.
  public func stop() { event_base_loopexit(base, nil) }
}
