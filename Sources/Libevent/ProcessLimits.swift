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
}
