/// Time and timers as the service's policies use them: what time it is, and
/// something to run later that can be called off. `EventLoop` is the real
/// one (a monotonic clock and `evtimer`s); tests drive a `ManualScheduler`,
/// whose time moves only when they say so.
public protocol Scheduler: AnyObject {
  /// Milliseconds on a monotonic clock.
  var nowMs: Int64 { get }
  /// Microseconds on the same clock.
  var nowUs: Int64 { get }
  /// A one-shot timer that runs `handler` when it fires. Not armed yet.
  func makeTimer(_ handler: @escaping () -> Void) -> any ScheduledTimer
}

/// A one-shot timer of a `Scheduler`: arming it again replaces the deadline.
public protocol ScheduledTimer: AnyObject {
  func arm(afterMs: Int64)
  func cancel()
  var isArmed: Bool { get }
}

extension LoopTimer: ScheduledTimer {}

extension EventLoop: Scheduler {
  public func makeTimer(_ handler: @escaping () -> Void) -> any ScheduledTimer {
    LoopTimer(loop: self, handler: handler)
  }
}
