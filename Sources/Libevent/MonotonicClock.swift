import Glibc

/// The monotonic clock every timing in the service reads: timers, the
/// breaker's deadlines, request durations.
public enum MonotonicClock {
  public static func nowNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
  }

  public static func nowMs() -> Int64 { Int64(nowNs() / 1_000_000) }
}

extension timeval {
  init(milliseconds: Int64) {
    self.init(tv_sec: Int(milliseconds / 1_000), tv_usec: Int((milliseconds % 1_000) * 1_000))
  }
}
