internal import CLibevent
import Glibc

/// Notices a client that hangs up while its request is being served.
///
/// libevent stops reading an inbound connection once it has read a request,
/// and learns of a hang-up only when it writes the reply: work done for a
/// client that left would run to its end. This watches the socket for
/// readability meanwhile and peeks: end of stream or an error means the
/// client is gone; bytes mean it sent more (a pipelined request), and
/// watching stops without a verdict.
///
/// One per connection, made on its first watched request and reused: an
/// event made and freed per request cost more (docs/performance.md).
final class DisconnectWatch: LoopEvent {
  /// The request being watched for. Unowned: answering or dropping it
  /// stops the watch first (a closure or weak reference here cost an
  /// allocation or a side table per request).
  private unowned(unsafe) var request: ServerRequest?

  init(loop: EventLoop, fd: Int32) {
    super.init(loop: loop, fd: fd, flags: EV_READ | EV_PERSIST)
  }

  func start(for request: ServerRequest) {
    self.request = request
    add(timeoutMs: nil)
  }

  func stop() {
    guard request != nil else { return }
    request = nil
    remove()
  }

  override func fired(_ fd: Int32) {
    var byte: UInt8 = 0
    let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
    if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
    let watched = request
    stop()
    if n <= 0 { watched?.clientLeft() }
  }
}
