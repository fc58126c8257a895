/// A `Scheduler` for tests: time starts at `nowMs` and moves only by
/// `advance(byMs:)`, which fires the timers that come due, in deadline order
/// (ties in the order they were armed), each at its own deadline.
public final class ManualScheduler: Scheduler {
  public private(set) var nowMs: Int64
  private var armed: [(deadline: Int64, order: Int, timer: ManualTimer)] = []
  private var nextOrder = 0

  public init(nowMs: Int64 = 0) { self.nowMs = nowMs }

  public var nowUs: Int64 { nowMs * 1_000 }

  public func makeTimer(_ handler: @escaping () -> Void) -> any ScheduledTimer {
    ManualTimer(scheduler: self, handler: handler)
  }

  /// Moves time forward by `ms`, firing every timer due on the way.
  public func advance(byMs ms: Int64) {
    let end = nowMs + ms
    while let next = armed.min(by: { ($0.deadline, $0.order) < ($1.deadline, $1.order) }),
      next.deadline <= end
    {
      nowMs = max(nowMs, next.deadline)
      disarm(next.timer)
      next.timer.handler()
    }
    nowMs = end
  }

  /// Timers armed and not yet fired or cancelled.
  public var armedCount: Int { armed.count }

  fileprivate func arm(_ timer: ManualTimer, afterMs ms: Int64) {
    disarm(timer)
    armed.append((nowMs + max(0, ms), nextOrder, timer))
    nextOrder += 1
  }

  fileprivate func disarm(_ timer: ManualTimer) { armed.removeAll { $0.timer === timer } }

  fileprivate func isArmed(_ timer: ManualTimer) -> Bool { armed.contains { $0.timer === timer } }
}

final class ManualTimer: ScheduledTimer {
  private unowned let scheduler: ManualScheduler
  let handler: () -> Void

  init(scheduler: ManualScheduler, handler: @escaping () -> Void) {
    self.scheduler = scheduler
    self.handler = handler
  }

  func arm(afterMs ms: Int64) { scheduler.arm(self, afterMs: ms) }
  func cancel() { scheduler.disarm(self) }
  var isArmed: Bool { scheduler.isArmed(self) }
}
