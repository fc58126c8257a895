/// A one-shot timer on the loop (`evtimer`). Arming it again replaces the
/// previous deadline; `cancel()` disarms it. The handler runs on the loop.
///
/// An armed timer is held by the loop, so it fires even if nobody else
/// keeps it; a handler that refers to its owner should do so weakly.
public final class LoopTimer: LoopEvent {
  private let handler: () -> Void

  public init(loop: EventLoop, handler: @escaping () -> Void) {
    self.handler = handler
    super.init(loop: loop, fd: -1, flags: 0)
  }

  public func arm(afterMs ms: Int64) { add(timeoutMs: ms) }

  public func cancel() { remove() }

  public var isArmed: Bool { isPending }

  override func fired(_ fd: Int32) {
    unregister()
    handler()
  }
}

extension EventLoop {
  /// Runs `body` once after `ms` milliseconds, unless the returned timer is
  /// cancelled first. Nothing needs to keep the timer: the loop does.
  @discardableResult
  public func schedule(afterMs ms: Int64, _ body: @escaping () -> Void) -> LoopTimer {
    let timer = LoopTimer(loop: self, handler: body)
    timer.arm(afterMs: ms)
    return timer
  }
}
