/// Where a scanned string's text is: straight in the input (no escapes), or
/// decoded into the reader's `scratch`.
enum ScannedString {
  case input(Range<Int>)
  case scratch
}

extension JSONReader {
  /// Reads a string literal (the cursor is on its opening quote), checking
  /// UTF-8 and escapes as it goes. Returns the decoded text when `decode`
  /// is true, else "". A run without escapes is decoded straight from the
  /// input; only strings with escapes go through `scratch`.
  mutating func string(decode: Bool) throws(JSONParseError) -> String {
    guard decode else {
      _ = try scanString(collect: false, checkUTF8: true)
      return ""
    }
    let start = index + 1
    let (scanned, nonASCII) = try scanString(collect: true, checkUTF8: false)
    let text: String?
    switch scanned {
    case .scratch:
      text =
        nonASCII
        ? String(validating: scratch, as: UTF8.self) : String(decoding: scratch, as: UTF8.self)
    case .input(let range):
      let run = UnsafeBufferPointer(rebasing: bytes[range])
      text =
        nonASCII ? String(validating: run, as: UTF8.self) : String(decoding: run, as: UTF8.self)
    }
    guard let text else { throw invalidUTF8(from: start) }
    return text
  }

  /// Reads a member name with its UTF-8 checked as it goes, so its bytes
  /// can be compared without making a `String` of them.
  mutating func memberName() throws(JSONParseError) -> ScannedString {
    try scanString(collect: true, checkUTF8: true).0
  }

  /// The scan under `string` and `memberName`. `collect`: decode a string
  /// with escapes into `scratch`. `checkUTF8`: check each multibyte sequence
  /// here, rather than leave it to the caller's validator (`nonASCII` says
  /// whether there was any).
  private mutating func scanString(collect: Bool, checkUTF8: Bool) throws(JSONParseError) -> (
    ScannedString, nonASCII: Bool
  ) {
    index += 1
    let start = index
    var escaped = false
    var nonASCII = false
    // With escapes, the bytes from here up to the cursor are not yet in `scratch`.
    var pending = start
    while true {
      // The common case: printable ASCII, eight bytes at a time while they
      // last (about a quarter of the byte-by-byte cost on typical bodies).
      while index + 8 <= bytes.count,
        Self.allPlain(UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self))
      {
        index += 8
      }
      while index < bytes.count {
        let c = bytes[index]
        guard c >= 0x20, c < 0x80, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\") else { break }
        index += 1
      }
      guard index < bytes.count else { throw error("unterminated string") }
      let c = bytes[index]
      if c == UInt8(ascii: "\"") { break }
      if c == UInt8(ascii: "\\") {
        if collect {
          if !escaped { scratch.removeAll(keepingCapacity: true) }
          scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pending..<index]))
        }
        escaped = true
        try escape(decode: collect)
        pending = index
        continue
      }
      if c < 0x20 { throw error("control character in string") }
      nonASCII = true
      if checkUTF8 {
        try skipUTF8Sequence()
      } else {
        // Checked all at once by the caller, with the standard library's validator.
        index += 1
        while index < bytes.count && bytes[index] >= 0x80 { index += 1 }
      }
    }
    let end = index
    index += 1
    guard escaped && collect else { return (.input(start..<end), nonASCII) }
    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pending..<end]))
    return (.scratch, nonASCII)
  }

  /// No byte of `word` needs attention inside a string: all are in
  /// 0x20...0x7F and none is `"` or `\\`. Each test is the exact "some byte
  /// is below n" bit trick, valid once no byte has its top bit set.
  @inline(__always)
  static func allPlain(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let tops: UInt64 = 0x8080_8080_8080_8080
    guard word & tops == 0 else { return false }
    let quote = word ^ (ones &* 0x22)
    let backslash = word ^ (ones &* 0x5C)
    let below = (word &- ones &* 0x20) & ~word
    let quoteZero = (quote &- ones) & ~quote
    let backslashZero = (backslash &- ones) & ~backslash
    return (below | quoteZero | backslashZero) & tops == 0
  }

  /// The error for the first malformed sequence after `start`, found again
  /// sequence by sequence (only once a string already failed validation).
  private func invalidUTF8(from start: Int) -> JSONParseError {
    var probe = self
    probe.index = start
    while probe.index < bytes.count {
      if bytes[probe.index] < 0x80 {
        probe.index += 1
      } else {
        do { try probe.skipUTF8Sequence() } catch { return error }
      }
    }
    return probe.error("invalid UTF-8")
  }

  /// One well-formed UTF-8 sequence of two to four bytes (RFC 3629 §4): no
  /// overlong forms, no surrogates, nothing above U+10FFFF.
  private mutating func skipUTF8Sequence() throws(JSONParseError) {
    let lead = bytes[index]
    let count: Int
    var low: UInt8 = 0x80
    var high: UInt8 = 0xBF
    switch lead {
    case 0xC2...0xDF: count = 2
    case 0xE0:
      count = 3
      low = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: count = 3
    case 0xED:
      count = 3
      high = 0x9F
    case 0xF0:
      count = 4
      low = 0x90
    case 0xF1...0xF3: count = 4
    case 0xF4:
      count = 4
      high = 0x8F
    default: throw error("invalid UTF-8")
    }
    guard index + count <= bytes.count else { throw error("invalid UTF-8") }
    let second = bytes[index + 1]
    guard second >= low, second <= high else { throw error("invalid UTF-8") }
    for offset in 2..<count where bytes[index + offset] & 0xC0 != 0x80 {
      throw error("invalid UTF-8")
    }
    index += count
  }

  /// The cursor is on a backslash: checks the escape and, when decoding,
  /// appends the character it stands for to `scratch`.
  private mutating func escape(decode: Bool) throws(JSONParseError) {
    index += 1
    guard index < bytes.count else { throw error("unterminated escape") }
    let c = bytes[index]
    index += 1
    let byte: UInt8
    switch c {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte = c
    case UInt8(ascii: "b"): byte = 0x08
    case UInt8(ascii: "f"): byte = 0x0C
    case UInt8(ascii: "n"): byte = 0x0A
    case UInt8(ascii: "r"): byte = 0x0D
    case UInt8(ascii: "t"): byte = 0x09
    case UInt8(ascii: "u"):
      let scalar = try unicodeEscape()
      if decode { appendUTF8(scalar) }
      return
    default:
      index -= 1
      throw error("invalid escape")
    }
    if decode { scratch.append(byte) }
  }

  /// `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx`; a lone surrogate is an error.
  private mutating func unicodeEscape() throws(JSONParseError) -> UInt32 {
    let high = try hex4()
    switch high {
    case 0xD800..<0xDC00:
      guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
        bytes[index + 1] == UInt8(ascii: "u")
      else { throw error("lone surrogate escape") }
      index += 2
      let low = try hex4()
      guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate escape") }
      return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    case 0xDC00..<0xE000: throw error("lone surrogate escape")
    default: return high
    }
  }

  private mutating func hex4() throws(JSONParseError) -> UInt32 {
    guard index + 4 <= bytes.count else { throw error("invalid \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[index]
      let digit: UInt8
      switch c {
      case 0x30...0x39: digit = c - 0x30
      case 0x41...0x46: digit = c - 0x41 + 10
      case 0x61...0x66: digit = c - 0x61 + 10
      default: throw error("invalid \\u escape")
      }
      value = value << 4 | UInt32(digit)
      index += 1
    }
    return value
  }

  private mutating func appendUTF8(_ scalar: UInt32) {
    switch scalar {
    case 0..<0x80: scratch.append(UInt8(scalar))
    case 0x80..<0x800:
      scratch.append(UInt8(0xC0 | scalar >> 6))
      scratch.append(UInt8(0x80 | scalar & 0x3F))
    case 0x800..<0x10000:
      scratch.append(UInt8(0xE0 | scalar >> 12))
      scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
      scratch.append(UInt8(0x80 | scalar & 0x3F))
    default:
      scratch.append(UInt8(0xF0 | scalar >> 18))
      scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
      scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
      scratch.append(UInt8(0x80 | scalar & 0x3F))
    }
  }
}
