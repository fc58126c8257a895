import Glibc

/// Reads a request's head as its bytes arrive, before libevent parses it,
/// for what must be known first: where the head ends (the body deadline
/// starts there), the `Content-Length` it announces (refused at once when
/// over the limit), and whether its framing is one RFC 9112 forbids.
///
/// libevent 2.1's parser is lenient where the RFC is strict, and each
/// leniency is a way to smuggle a request past a proxy that reads the bytes
/// differently (docs/libevent-boundary.md): two different `Content-Length`s
/// (it takes the first), one that is not plain digits (`+26`), whitespace
/// before a header's colon (it keeps the space in the name, so
/// `Content-Length : 26` frames no body), a folded header line (it joins
/// it), `Transfer-Encoding` other than a lone `chunked`, or both. On the raw
/// bytes each is plain to see. Chunk sizes are the body's and stay hidden.
///
/// Pure: bytes in, state out; `InboundConnection` feeds it.
struct RequestHeadScanner {
  struct Framing: Equatable {
    var contentLength: Int?
    var chunked = false
    /// Why the head's framing is refused, if it is.
    var problem: String?
  }

  private(set) var framing = Framing()
  private var atLineStart = false
  private var isFirstLine = true
  /// The start of a line that may frame the body (it begins with C or T),
  /// kept across reads; `keptBytes` is room for its name and any
  /// acceptable value.
  private var keepLine = false
  private var kept: [UInt8] = []
  private static let keptBytes = 48

  /// Ready for the next request's head.
  mutating func reset() {
    framing = Framing()
    atLineStart = false
    isFirstLine = true
    keepLine = false
  }

  /// Reads `bytes`; true once the blank line that ends the head is among
  /// them (what follows it is the body's and is not read).
  mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return false }
    var index = 0
    while index < bytes.count {
      var startedHere = false
      if atLineStart {
        let byte = bytes[index]
        if byte == Self.lf {
          headEnded()
          return true
        }
        if byte == Self.cr {
          index += 1
          continue
        }
        atLineStart = false
        startedHere = true
        if byte == 32 || byte == 9 { refuse("a folded header line (obs-fold)") }
        keepLine = byte | 0x20 == UInt8(ascii: "c") || byte | 0x20 == UInt8(ascii: "t")
        if keepLine { kept.removeAll(keepingCapacity: true) }
      }
      let end = memchr(base + index, Int32(Self.lf), bytes.count - index)
      let lineEnd = end.map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? bytes.count
      if keepLine {
        if kept.count < Self.keptBytes {
          kept.append(contentsOf: bytes[index..<min(lineEnd, index + Self.keptBytes - kept.count)])
        }
      } else if !isFirstLine && startedHere {
        checkColon(UnsafeBufferPointer(rebasing: bytes[index..<lineEnd]))
      }
      guard end != nil else { return false }
      if keepLine {
        noteFramingLine()
        keepLine = false
      }
      isFirstLine = false
      index = lineEnd + 1
      atLineStart = true
    }
    return false
  }

  private static let lf = UInt8(ascii: "\n")
  private static let cr = UInt8(ascii: "\r")
  private static let contentLength = Array("content-length".utf8)
  private static let transferEncoding = Array("transfer-encoding".utf8)
  private static let chunked = Array("chunked".utf8)

  private mutating func refuse(_ problem: String) {
    if framing.problem == nil { framing.problem = problem }
  }

  private mutating func headEnded() {
    if framing.contentLength != nil && framing.chunked {
      refuse("both Content-Length and Transfer-Encoding")
    }
  }

  /// A header line (seen whole in one read) must not have whitespace before
  /// its colon.
  private mutating func checkColon(_ line: UnsafeBufferPointer<UInt8>) {
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return }
    let before = line[colon - 1]
    if before == 32 || before == 9 { refuse("whitespace before a header's colon") }
  }

  /// The kept line, if it is `Content-Length` or `Transfer-Encoding`.
  private mutating func noteFramingLine() {
    guard !isFirstLine, let colon = kept.firstIndex(of: UInt8(ascii: ":")) else { return }
    var name = kept[..<colon]
    if let last = name.last, last == 32 || last == 9 {
      refuse("whitespace before a header's colon")
      while let last = name.last, last == 32 || last == 9 { name = name.dropLast() }
    }
    let value = Self.trimmed(kept[(colon + 1)...])
    let overflowed = kept.count >= Self.keptBytes
    if Self.equalsIgnoringCase(name, Self.contentLength) {
      guard !overflowed, let length = Self.digits(value) else {
        return refuse("Content-Length must be plain digits")
      }
      if let known = framing.contentLength, known != length {
        return refuse("two different Content-Length values")
      }
      framing.contentLength = length
    } else if Self.equalsIgnoringCase(name, Self.transferEncoding) {
      guard !overflowed, !framing.chunked, Self.equalsIgnoringCase(value, Self.chunked) else {
        return refuse("Transfer-Encoding must be chunked, once")
      }
      framing.chunked = true
    }
  }

  private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var value = bytes
    while let first = value.first, first == 32 || first == 9 { value = value.dropFirst() }
    while let last = value.last, last == 32 || last == 9 || last == cr { value = value.dropLast() }
    return value
  }

  /// `1*DIGIT` as a number; nil past 18 digits (no body is that large).
  private static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
    guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
    var value = 0
    for byte in bytes {
      guard byte >= 48 && byte <= 57 else { return nil }
      value = value * 10 + Int(byte - 48)
    }
    return value
  }

  private static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lowercase: [UInt8]) -> Bool {
    bytes.count == lowercase.count && zip(bytes, lowercase).allSatisfy { $0 | 0x20 == $1 }
  }
}
