internal import CLibevent
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

  /// Resident memory now, in bytes (`/proc/self/statm`), or nil.
  public static func residentBytes() -> Int? {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var text = [UInt8](repeating: 0, count: 128)
    let n = read(fd, &text, text.count)
    guard n > 0 else { return nil }
    let fields = text[0..<n].split(separator: UInt8(ascii: " "))
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else {
      return nil
    }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
  }
}
