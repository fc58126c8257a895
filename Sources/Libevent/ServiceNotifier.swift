internal import CLibevent
import Glibc

/// systemd's readiness protocol without libsystemd: `READY=1` when the
/// service serves, `STOPPING=1` when it starts to drain, each one datagram
/// to the `AF_UNIX` socket named by `$NOTIFY_SOCKET` (a path, or `@name`
/// in the abstract namespace). Without the variable it does nothing.
public struct ServiceNotifier: Sendable {
  private let path: String?

  public init(environment: [String: String]) {
    let value = environment["NOTIFY_SOCKET"] ?? ""
    path = value.isEmpty ? nil : value
  }

  public var isActive: Bool { path != nil }

  public func ready() { send("READY=1") }

  public func stopping() { send("STOPPING=1") }

  /// Sends `state`; a failure is ignored (systemd then times out on its
  /// own, which says more than a log line could). Never blocks.
  @discardableResult
  public func send(_ state: String) -> Bool {
    guard let path else { return false }
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    var bytes = Array(path.utf8)
    // `@name`: the abstract namespace, a leading NUL instead of the `@`.
    if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count < capacity else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      raw.copyBytes(from: bytes)
    }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    let message = Array(state.utf8)
    let sent = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
        message.withUnsafeBytes {
          sendto(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), target, length)
        }
      }
    }
    return sent == message.count
  }
}
