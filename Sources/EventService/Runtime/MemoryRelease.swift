import Libevent

/// After a burst, gives memory back: every few seconds it looks at resident
/// memory, and once it is well above where the last release left it and the
/// burst's bytes are given back (the memory budget says so), it calls the
/// allocator's release (event-service sets mimalloc's `mi_collect`).
///
/// Its own object, not a method of `ServiceApp`: the timer's closure holds
/// it strongly, where a weak reference to the app would have given the app
/// a side table and made every retain of it, one a request, the slow kind.
final class MemoryRelease {
  private let context: ServiceContext
  private var timer: (any ScheduledTimer)?
  private var residentAfterRelease: Int
  var release: () -> Void = {}
  static let checkMs: Int64 = 5_000
  static let burstBytes = 16 << 20

  init(context: ServiceContext) {
    self.context = context
    residentAfterRelease = ProcessLimits.residentBytes() ?? 0
    let timer = context.clock.makeTimer { [self] in check() }
    self.timer = timer
    timer.arm(afterMs: Self.checkMs)
  }

  func stop() {
    timer?.cancel()
    timer = nil
  }

  private func check() {
    let resident = ProcessLimits.residentBytes() ?? 0
    let held = context.budget.held + context.replyBytes
    if resident > residentAfterRelease + Self.burstBytes && held < Self.burstBytes {
      release()
      residentAfterRelease = ProcessLimits.residentBytes() ?? resident
    }
    timer?.arm(afterMs: Self.checkMs)
  }
}
