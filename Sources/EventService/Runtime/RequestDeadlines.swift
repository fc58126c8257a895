import Libevent

/// The reads waiting for an answer, oldest first, each to be answered by
/// its deadline (`REQUEST_TIMEOUT_MS` after it arrived). Every read has the
/// same timeout, so arrival order is deadline order: a linked list through
/// the exchanges (no allocation per request) and one timer, armed for the
/// oldest. A read answered early leaves the list; the timer is not moved
/// for it, and when it fires it serves what is due and arms for the next.
final class RequestDeadlines {
  @exclusivity(unchecked) private var head: Exchange?
  @exclusivity(unchecked) private unowned(unsafe) var tail: Exchange?
  private let clock: any Scheduler
  private var timer: (any ScheduledTimer)!

  init(clock: any Scheduler) {
    self.clock = clock
    timer = clock.makeTimer { [unowned self] in fire() }
  }

  deinit { timer.cancel() }

  func add(_ exchange: Exchange) {
    exchange.deadlineQueued = true
    if let tail {
      tail.deadlineNext = exchange
      exchange.deadlinePrevious = tail
    } else {
      head = exchange
      if !timer.isArmed { arm(for: exchange) }
    }
    tail = exchange
  }

  func remove(_ exchange: Exchange) {
    guard exchange.deadlineQueued else { return }
    exchange.deadlineQueued = false
    let next = exchange.deadlineNext
    if let previous = exchange.deadlinePrevious {
      previous.deadlineNext = next
    } else {
      head = next
    }
    if let next {
      next.deadlinePrevious = exchange.deadlinePrevious
    } else {
      tail = exchange.deadlinePrevious
    }
    exchange.deadlineNext = nil
    exchange.deadlinePrevious = nil
  }

  /// Stops the timer (shutdown); reads still waiting keep their answers.
  func stop() { timer.cancel() }

  private func arm(for exchange: Exchange) {
    timer.arm(afterMs: max(0, (exchange.deadlineUs - clock.nowUs + 999) / 1_000))
  }

  private func fire() {
    let now = clock.nowUs
    while let oldest = head, oldest.deadlineUs <= now {
      remove(oldest)
      oldest.deadlinePassed()
    }
    if let head { arm(for: head) }
  }
}
