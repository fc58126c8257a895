import CLibevent
import Glibc

public enum ProcessLimits {
  /// Raises the soft open-file limit to the hard one: each inbound and each
  /// pooled upstream connection costs a descriptor, and a fan-out to
  /// thousands of events needs thousands. Returns the limit now in force.
  @discardableResult
  public static func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
    if limit.rlim_cur < limit.rlim_max {
      limit.rlim_cur = limit.rlim_max
      _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
      _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(limit.rlim_cur)
  }

  /// Whether this process can open one more socket now. A connection that
  /// failed before reaching the upstream may have failed for a local reason
  /// (libevent reports a socket() that failed with EMFILE as an ordinary
  /// EOF, and errno is stale by the time its callback runs): this tells
  /// the two apart, at the cost of one socket() and close() per failure.
  public static func canOpenSocket() -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    if fd >= 0 {
      close(fd)
      return true
    }
    return ![EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(errno)
  }
}
