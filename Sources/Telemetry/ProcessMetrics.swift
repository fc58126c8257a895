import Glibc
import Libevent
import Prometheus

/// The standard process metrics (Prometheus client conventions:
/// `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_open_fds`, `process_max_fds`, `process_start_time_seconds`),
/// read from the kernel when `/metrics` is scraped, and
/// `event_service_build_info{version}`.
final class ProcessMetrics {
  private let cpuSeconds: Counter
  private let residentBytes: Gauge
  private let openFDs: Gauge
  private let maxFDs: Gauge
  private var cpuReported = 0.0

  init(registry: PrometheusCollectorRegistry, version: String) {
    func name(_ namespace: String, _ metric: String, _ unit: String, _ help: String)
      -> MetricNameDescriptor
    {
      MetricNameDescriptor(
        namespace: namespace, metricName: metric, unitName: unit, helpText: help)
    }
    cpuSeconds = registry.makeCounter(
      descriptor: name("process", "cpu_seconds", "total", "user and system CPU time, in seconds"))
    residentBytes = registry.makeGauge(
      descriptor: name("process", "resident_memory", "bytes", "resident memory size, in bytes"))
    openFDs = registry.makeGauge(
      descriptor: name("process", "open", "fds", "open file descriptors"))
    maxFDs = registry.makeGauge(
      descriptor: name("process", "max", "fds", "the limit of open file descriptors"))
    registry.makeGauge(
      descriptor: name(
        "process", "start_time", "seconds",
        "when the process started (its metrics were made), in seconds since the epoch")
    ).set(to: Self.wallClockSeconds())
    registry.makeGauge(
      descriptor: name("event_service", "build", "info", "1, labelled with the build's version"),
      labels: [("version", version)]
    ).set(to: 1)
  }

  /// Reads the kernel's figures; called on each scrape.
  func update() {
    var usage = rusage()
    if getrusage(RUSAGE_SELF.rawValue, &usage) == 0 {
      let total = Self.seconds(usage.ru_utime) + Self.seconds(usage.ru_stime)
      if total > cpuReported {
        cpuSeconds.increment(by: total - cpuReported)
        cpuReported = total
      }
    }
    if let resident = ProcessLimits.residentBytes() { residentBytes.set(to: Double(resident)) }
    openFDs.set(to: Double(Self.openDescriptors()))
    var limit = rlimit()
    if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
      maxFDs.set(to: Double(limit.rlim_cur))
    }
  }

  private static func seconds(_ time: timeval) -> Double {
    Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000
  }

  private static func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1_000_000_000
  }

  /// Entries of /proc/self/fd, less `.`, `..` and the directory's own.
  static func openDescriptors() -> Int {
    guard let directory = opendir("/proc/self/fd") else { return 0 }
    defer { closedir(directory) }
    var count = 0
    while let entry = readdir(directory) {
      if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
    }
    return max(0, count - 1)
  }
}
