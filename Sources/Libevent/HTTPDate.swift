internal import CLibevent
import Glibc

/// The `Date` response header, formatted once per second.
///
/// evhttp formats a fresh date for every reply (gmtime plus snprintf); a
/// reply whose `Date` is already set skips that. The
/// cached text costs a compare per reply and a format once a second.
struct HTTPDate {
  private var second = -1
  /// "Sun, 06 Nov 1994 08:49:37 GMT" and a terminating NUL.
  private var text = [CChar](repeating: 0, count: 30)

  /// Calls `body` with the header value for `now` (seconds since the epoch)
  /// as a C string.
  mutating func withValue(at now: Int, _ body: (UnsafePointer<CChar>) -> Void) {
    if now != second {
      second = now
      format(now)
    }
    text.withUnsafeBufferPointer { body($0.baseAddress!) }
  }

  private static let days = Array("SunMonTueWedThuFriSat".utf8)
  private static let months = Array("JanFebMarAprMayJunJulAugSepOctNovDec".utf8)

  private mutating func format(_ now: Int) {
    var time = time_t(now)
    var parts = tm()
    gmtime_r(&time, &parts)
    var out: [UInt8] = []
    out.reserveCapacity(30)
    func name(_ table: [UInt8], _ index: Int32) {
      out += table[Int(index) * 3..<Int(index) * 3 + 3]
    }
    func digits(_ value: Int32, _ count: Int) {
      var divisor: Int32 = 1
      for _ in 1..<count { divisor *= 10 }
      while divisor > 0 {
        out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
        divisor /= 10
      }
    }
    name(Self.days, parts.tm_wday)
    out += Array(", ".utf8)
    digits(parts.tm_mday, 2)
    out.append(UInt8(ascii: " "))
    name(Self.months, parts.tm_mon)
    out.append(UInt8(ascii: " "))
    digits(parts.tm_year + 1900, 4)
    out.append(UInt8(ascii: " "))
    digits(parts.tm_hour, 2)
    out.append(UInt8(ascii: ":"))
    digits(parts.tm_min, 2)
    out.append(UInt8(ascii: ":"))
    digits(parts.tm_sec, 2)
    out += Array(" GMT".utf8)
    out.append(0)
    text = out.map { CChar(bitPattern: $0) }
  }
}
