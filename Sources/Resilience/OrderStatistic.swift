/// The k-th smallest of a set of values, without sorting them all:
/// quickselect (Hoare partition, median-of-three pivot) in place, in
/// expected linear time. Should the partitions keep coming out lopsided, it
/// sorts what is left instead, so the worst case stays O(n log n).
enum OrderStatistic {
  /// The value that `values.sorted()[k]` would hold; `values` is reordered.
  static func select(_ k: Int, in values: inout [Int64]) -> Int64 {
    precondition(values.indices.contains(k), "rank out of range")
    return values.withUnsafeMutableBufferPointer { buffer in
      var low = 0
      var high = buffer.count - 1
      // Lopsided partitions allowed before giving up on selecting.
      var patience = 2 * (Int.bitWidth - buffer.count.leadingZeroBitCount)
      while low < high {
        if patience == 0 {
          buffer[low...high].sort()
          break
        }
        patience -= 1
        let pivot = medianOfThree(buffer[low], buffer[low + (high - low) / 2], buffer[high])
        var i = low
        var j = high
        while i <= j {
          while buffer[i] < pivot { i += 1 }
          while buffer[j] > pivot { j -= 1 }
          if i <= j {
            buffer.swapAt(i, j)
            i += 1
            j -= 1
          }
        }
        // Now [low, j] ≤ pivot ≤ [i, high], and anything between equals it.
        if k <= j {
          high = j
        } else if k >= i {
          low = i
        } else {
          break
        }
      }
      return buffer[k]
    }
  }

  private static func medianOfThree(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 {
    max(min(a, b), min(max(a, b), c))
  }
}
