internal import CLibevent
import Glibc

/// Lets another thread run code on the loop: `WakeHandle.wake()` writes a byte
/// to a socketpair the loop watches, and the loop calls `onWake`. The handle is
/// just a file descriptor, so it is Sendable; the waker stays on the loop,
/// registered until `cancel()` or `EventLoop.close()`.
public final class Waker: LoopEvent {
  private let readFD: Int32
  private let writeFD: Int32
  private let onWake: () -> Void

  public init(loop: EventLoop, onWake: @escaping () -> Void) {
    self.onWake = onWake
    var fds: [Int32] = [0, 0]
    guard evutil_socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
      fatalError("socketpair failed: errno \(errno)")
    }
    readFD = fds[0]
    writeFD = fds[1]
    evutil_make_socket_nonblocking(readFD)
    evutil_make_socket_nonblocking(writeFD)
    super.init(loop: loop, fd: readFD, flags: EV_READ | EV_PERSIST)
    add(timeoutMs: nil)
  }

  // The event is no longer added here (a registered waker is never freed),
  // so closing the descriptors first touches no epoll state.
  deinit {
    close(readFD)
    close(writeFD)
  }

  public var handle: WakeHandle { WakeHandle(fd: writeFD) }

  public func cancel() { remove() }

  override func fired(_ fd: Int32) {
    var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    while withUnsafeMutableBytes(of: &scratch, { read(fd, $0.baseAddress, $0.count) }) > 0 {}
    onWake()
  }
}

public struct WakeHandle: Sendable {
  let fd: Int32

  public func wake() {
    var byte: UInt8 = 1
    _ = write(fd, &byte, 1)
  }
}
