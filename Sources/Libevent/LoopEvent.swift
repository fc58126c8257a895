internal import CLibevent

/// One libevent `event` (timer, signal or readable fd) whose callback is the
/// subclass's `fired(_:)`. The one place an `event_new` context is made: it
/// is unretained, which is safe because the object stays registered with
/// the loop while the event is added, and frees the event in `deinit`.
public class LoopEvent: LoopRegistration {
  private var event: OpaquePointer!

  init(loop: EventLoop, fd: Int32, flags: Int32) {
    super.init(loop: loop)
    event = event_new(
      loop.base, fd, Int16(flags),
      { fd, _, arg in
        // The callback may end the last reference (a one-shot timer that
        // fired); keep the object alive until it returns.
        let object = Unmanaged<LoopEvent>.fromOpaque(arg!).takeUnretainedValue()
        withExtendedLifetime(object) { object.fired(Int32(fd)) }
      }, Unmanaged.passUnretained(self).toOpaque())
  }

  deinit { event_free(event) }

  /// What the event is for; runs on the loop.
  func fired(_ fd: Int32) {}

  /// Adds the event (with a timeout, or none) and registers with the loop.
  func add(timeoutMs: Int64?) {
    if let timeoutMs {
      // libevent counts a timeout from the time it cached before running
      // this iteration's I/O callbacks; a timer armed late in a long one (a
      // 1,000-event fan-out sends for milliseconds) would fire that much
      // early. One clock read makes `afterMs` mean after now.
      event_base_update_cache_time(loop.base)
      CLibevent_event_add_ms(event, max(0, timeoutMs))
    } else {
      event_add(event, nil)
    }
    register()
  }

  /// Removes the event; no callback comes after this.
  func remove() {
    event_del(event)
    unregister()
  }

  var isPending: Bool {
    event_pending(event, Int16(EV_TIMEOUT | EV_READ | EV_SIGNAL), nil) != 0
  }

  override func endRegistration() { event_del(event) }
}
