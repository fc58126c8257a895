import CLibevent
import Glibc

/// A one-shot timer on the loop (`evtimer`). Arming it again replaces the
/// previous deadline; `cancel()` disarms it. The handler runs on the loop.
public final class LoopTimer {
  private let loop: EventLoop
  private var event: OpaquePointer!
  private let handler: () -> Void

  public init(loop: EventLoop, handler: @escaping () -> Void) {
    self.loop = loop
    self.handler = handler
    let arg = Unmanaged.passUnretained(self).toOpaque()
    event = event_new(
      loop.base, -1, 0,
      { _, _, arg in
        // The handler may drop the last reference to this timer; keep it alive
        // until the handler returns.
        let timer = Unmanaged<LoopTimer>.fromOpaque(arg!).takeUnretainedValue()
        withExtendedLifetime(timer) { timer.handler() }
      }, arg)
  }

  deinit { event_free(event) }

  public func arm(afterMs ms: Int64) { CLibevent_event_add_ms(event, max(0, ms)) }

  public func cancel() { event_del(event) }

  public var isArmed: Bool { event_pending(event, Int16(EV_TIMEOUT), nil) != 0 }
}

extension EventLoop {
  /// Runs `body` once after `ms` milliseconds. The timer keeps itself alive
  /// until it fires or the returned handle is cancelled.
  @discardableResult
  public func schedule(afterMs ms: Int64, _ body: @escaping () -> Void) -> ScheduledWork {
    let work = ScheduledWork()
    let timer = LoopTimer(loop: self) { [work] in
      let action = work.take()
      action?()
    }
    work.attach(timer: timer, body: body)
    timer.arm(afterMs: ms)
    return work
  }
}

/// A handle to work scheduled with `EventLoop.schedule`. The timer and the
/// body are held here until the work runs or is cancelled, then let go, so
/// nothing outlives its use (a timer capturing itself would leak).
public final class ScheduledWork {
  private var timer: LoopTimer?
  private var body: (() -> Void)?

  init() {}

  func attach(timer: LoopTimer, body: @escaping () -> Void) {
    self.timer = timer
    self.body = body
  }

  fileprivate func take() -> (() -> Void)? {
    let body = self.body
    self.body = nil
    timer = nil
    return body
  }

  public func cancel() {
    timer?.cancel()
    _ = take()
  }
}
