/// A Prometheus histogram for the one thread that records it (the loop): a
/// count per bucket and a sum, no lock. swift-prometheus's histogram takes
/// a lock and converts a `Duration` per sample, about 650 instructions in
/// the release build; this takes a few dozen (docs/performance.md). The
/// series of one metric are written out together by `HistogramFamily`.
final class LoopHistogram {
  /// Each line's text up to its value, made once: `name_bucket{…,le="0.1"} `
  /// for each bucket (+Inf last), then `name_sum{…} ` and `name_count{…} `.
  fileprivate let prefixes: [[UInt8]]
  private let boundsNs: [Int64]
  /// Per bucket, not cumulative; the last one is over every bound (+Inf).
  @exclusivity(unchecked) fileprivate private(set) var counts: [Int]
  @exclusivity(unchecked) fileprivate private(set) var sumNs: Int64 = 0

  fileprivate init(prefixes: [[UInt8]], boundsNs: [Int64]) {
    self.prefixes = prefixes
    self.boundsNs = boundsNs
    counts = Array(repeating: 0, count: boundsNs.count + 1)
  }

  func record(nanoseconds: Int64) {
    let value = max(0, nanoseconds)
    let slot = boundsNs.withUnsafeBufferPointer { bounds in
      var slot = 0
      while slot < bounds.count && value > bounds[slot] { slot += 1 }
      return slot
    }
    counts.withUnsafeMutableBufferPointer { $0[slot] += 1 }
    sumNs &+= value
  }
}

/// One histogram metric and its series (one per label set), in the
/// Prometheus text format: `_bucket` (cumulative, `le`), `_sum` in
/// seconds, `_count`.
final class HistogramFamily {
  private let name: String
  private let help: String
  private let boundsNs: [Int64]
  /// The `le` of each bound, as swift-prometheus writes it (`0.25`, `5.0`).
  private let bounds: [String]
  private var series: [LoopHistogram] = []

  init(name: String, help: String, buckets: [Duration]) {
    self.name = name
    self.help = help
    boundsNs = buckets.map {
      $0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000
    }
    bounds = boundsNs.map { "\(Double($0) / 1e9)" }
  }

  /// A new series; `labels` are written in this order.
  func makeSeries(labels: [(String, String)]) -> LoopHistogram {
    let text = labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
    let prefixes =
      (bounds + ["+Inf"]).map { Array("\(name)_bucket{\(text),le=\"\($0)\"} ".utf8) } + [
        Array("\(name)_sum{\(text)} ".utf8), Array("\(name)_count{\(text)} ".utf8),
      ]
    let made = LoopHistogram(prefixes: prefixes, boundsNs: boundsNs)
    series.append(made)
    return made
  }

  /// Made once a scrape: the lines are their prefixes and a number each.
  func emit(into out: inout [UInt8]) {
    guard !series.isEmpty else { return }
    out += Array("# HELP \(name) \(help)\n# TYPE \(name) histogram\n".utf8)
    for histogram in series {
      var total = 0
      for slot in 0...bounds.count {
        total += histogram.counts[slot]
        out += histogram.prefixes[slot]
        Self.appendDecimal(total, to: &out)
      }
      out += histogram.prefixes[bounds.count + 1]
      out += Array("\(Double(histogram.sumNs) / 1e9)\n".utf8)
      out += histogram.prefixes[bounds.count + 2]
      Self.appendDecimal(total, to: &out)
    }
  }

  /// `value` in decimal and a newline, without making a `String`.
  private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
    guard value > 0 else {
      out += [UInt8(ascii: "0"), 10]
      return
    }
    let start = out.count
    var rest = value
    while rest > 0 {
      out.append(UInt8(ascii: "0") + UInt8(rest % 10))
      rest /= 10
    }
    out[start...].reverse()
    out.append(10)
  }
}
