import Glibc

/// Monotonic nanoseconds for request timing (no Foundation, no Dispatch).
enum DispatchFreeClock {
  static func nowNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
  }
}
