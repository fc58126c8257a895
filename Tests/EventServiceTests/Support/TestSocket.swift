import Glibc

/// IPv4 sockets for the test peers (a raw upstream, a nameserver, a black
/// hole): made, bound and connected in one place.
enum TestSocket {
  /// A socket of `type` (`SOCK_STREAM`, `SOCK_DGRAM`) bound to `host:port`
  /// (port 0: a free one) with `SO_REUSEADDR`; its descriptor and port.
  static func bound(_ type: __socket_type, host: String = "127.0.0.1", port: Int = 0) throws
    -> (fd: Int32, port: Int)
  {
    let fd = socket(AF_INET, Int32(type.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    var on: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    var address = Self.address(host: host, port: port)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    guard bound else {
      let error = errno
      close(fd)
      throw TestFailure("bind \(host):\(port): errno \(error)")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
  }

  /// Connects `fd` to `host:port` (blocking); false with `errno` set.
  static func connect(_ fd: Int32, host: String, port: Int) -> Bool {
    var address = Self.address(host: host, port: port)
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  private static func address(host: String, port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr(host)
    return address
  }
}
