import CLibevent
import Glibc

/// Lets another thread run code on the loop: `WakeHandle.wake()` writes a byte
/// to a socketpair the loop watches, and the loop calls `onWake`. The handle is
/// just a file descriptor, so it is Sendable; the waker stays on the loop.
public final class Waker {
  private let loop: EventLoop
  private var event: OpaquePointer!
  private let readFD: Int32
  private let writeFD: Int32
  private let onWake: () -> Void

  public init(loop: EventLoop, onWake: @escaping () -> Void) {
    self.loop = loop
    self.onWake = onWake
    var fds: [Int32] = [0, 0]
    guard evutil_socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
      fatalError("socketpair failed: errno \(errno)")
    }
    readFD = fds[0]
    writeFD = fds[1]
    evutil_make_socket_nonblocking(readFD)
    evutil_make_socket_nonblocking(writeFD)
    let arg = Unmanaged.passUnretained(self).toOpaque()
    event = event_new(
      loop.base, readFD, Int16(EV_READ | EV_PERSIST),
      { fd, _, arg in
        var scratch = [UInt8](repeating: 0, count: 64)
        while read(fd, &scratch, scratch.count) > 0 {}
        let waker = Unmanaged<Waker>.fromOpaque(arg!).takeUnretainedValue()
        withExtendedLifetime(waker) { waker.onWake() }
      }, arg)
    event_add(event, nil)
  }

  deinit {
    event_free(event)
    close(readFD)
    close(writeFD)
  }

  public var handle: WakeHandle { WakeHandle(fd: writeFD) }
}

public struct WakeHandle: Sendable {
  let fd: Int32

  public func wake() {
    var byte: UInt8 = 1
    _ = write(fd, &byte, 1)
  }
}
