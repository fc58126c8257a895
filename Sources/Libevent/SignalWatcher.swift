import CLibevent
import Glibc

/// Delivers a POSIX signal as a callback on the loop (`evsignal`), so the
/// handler may touch loop state. Persistent until deinit.
public final class SignalWatcher {
  private let loop: EventLoop
  private var event: OpaquePointer!
  private let handler: (Int32) -> Void

  public init(loop: EventLoop, signal number: Int32, handler: @escaping (Int32) -> Void) {
    self.loop = loop
    self.handler = handler
    let arg = Unmanaged.passUnretained(self).toOpaque()
    event = event_new(
      loop.base, number, Int16(EV_SIGNAL | EV_PERSIST),
      { fd, _, arg in
        let watcher = Unmanaged<SignalWatcher>.fromOpaque(arg!).takeUnretainedValue()
        withExtendedLifetime(watcher) { watcher.handler(Int32(fd)) }
      }, arg)
    event_add(event, nil)
    // The signal mask survives exec: a parent that runs with the signal blocked
    // (libdispatch worker threads do) would otherwise leave it pending forever.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, number)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  deinit { event_free(event) }
}
