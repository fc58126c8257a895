internal import CLibevent
import Glibc

/// Delivers a POSIX signal as a callback on the loop (`evsignal`), so the
/// handler may touch loop state. Watches from `init` until `cancel()` (or
/// `EventLoop.close()`); the loop holds it meanwhile.
public final class SignalWatcher: LoopEvent {
  private let handler: (Int32) -> Void

  public init(loop: EventLoop, signal number: Int32, handler: @escaping (Int32) -> Void) {
    self.handler = handler
    super.init(loop: loop, fd: number, flags: EV_SIGNAL | EV_PERSIST)
    add(timeoutMs: nil)
    // The signal mask survives exec: a parent that runs with the signal blocked
    // (libdispatch worker threads do) would otherwise leave it pending forever.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, number)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// Stops watching; the signal's default action applies again.
  public func cancel() { remove() }

  override func fired(_ fd: Int32) { handler(fd) }
}

extension EventLoop {
  /// Calls `handler` on the loop each time `signal` arrives, until the
  /// returned watcher is cancelled or the loop closed.
  @discardableResult
  public func onSignal(_ signal: Int32, _ handler: @escaping (Int32) -> Void) -> SignalWatcher {
    SignalWatcher(loop: self, signal: signal, handler: handler)
  }
}
