import Testing

@testable import Libevent

@Suite("RequestHeadScanner")
struct RequestHeadScannerTests {
  /// Feeds `pieces` one after another; whether the head ended, and its framing.
  static func scan(_ pieces: [String]) -> (ended: Bool, framing: RequestHeadScanner.Framing) {
    var scanner = RequestHeadScanner()
    for piece in pieces {
      let bytes = Array(piece.utf8)
      let ended = bytes.withUnsafeBufferPointer { scanner.feed($0) }
      if ended { return (true, scanner.framing) }
    }
    return (false, scanner.framing)
  }

  static let start = "POST /addEvent HTTP/1.1\r\nHost: x\r\n"

  @Test(
    arguments: [
      ("Content-Length: 26\r\n\r\n", 26, false),
      ("content-length:26\r\n\r\n", 26, false),
      ("Content-Length: 26\r\nContent-Length: 026\r\n\r\n", 26, false),
      ("Transfer-Encoding: chunked\r\n\r\n", nil, true),
      ("TRANSFER-ENCODING:  Chunked \r\n\r\n", nil, true),
      ("Connection: close\r\n\n", nil, false),
    ] as [(String, Int?, Bool)])
  func acceptedFraming(head: String, length: Int?, chunked: Bool) {
    let (ended, framing) = Self.scan([Self.start + head])
    #expect(ended)
    #expect(framing == .init(contentLength: length, chunked: chunked, problem: nil))
  }

  @Test(arguments: [
    ("Content-Length: 26\r\nContent-Length: 62\r\n\r\n", "two different Content-Length values"),
    ("Content-Length: +26\r\n\r\n", "Content-Length must be plain digits"),
    ("Content-Length: 0x1a\r\n\r\n", "Content-Length must be plain digits"),
    ("Content-Length: 1234567890123456789\r\n\r\n", "Content-Length must be plain digits"),
    ("Content-Length : 26\r\n\r\n", "whitespace before a header's colon"),
    ("X-Other\t: 1\r\n\r\n", "whitespace before a header's colon"),
    ("X-Other: 1\r\n folded\r\n\r\n", "a folded header line (obs-fold)"),
    ("Transfer-Encoding: gzip, chunked\r\n\r\n", "Transfer-Encoding must be chunked, once"),
    (
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      "Transfer-Encoding must be chunked, once"
    ),
    (
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "both Content-Length and Transfer-Encoding"
    ),
  ])
  func refusedFraming(head: String, problem: String) {
    let (ended, framing) = Self.scan([Self.start + head])
    #expect(ended)
    #expect(framing.problem == problem)
  }

  /// However the bytes are cut, the same head reads the same.
  @Test func aHeadCutAnywhereReadsTheSame() {
    let head = Self.start + "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n"
    let bytes = Array(head)
    for cut in 1..<bytes.count {
      let (ended, framing) = Self.scan([String(bytes[..<cut]), String(bytes[cut...])])
      #expect(ended, "cut at \(cut)")
      #expect(framing == .init(contentLength: 26), "cut at \(cut)")
    }
  }

  @Test func anUnfinishedHeadHasNotEnded() {
    #expect(!Self.scan([Self.start, "Content-Length: 2"]).ended)
    #expect(!Self.scan([Self.start + "\r"]).ended)
  }

  @Test func resetReadsTheNextHeadAfresh() {
    var scanner = RequestHeadScanner()
    let first = Array((Self.start + "Content-Length: 1\r\n\r\n").utf8)
    let second = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    #expect(first.withUnsafeBufferPointer { scanner.feed($0) })
    scanner.reset()
    #expect(second.withUnsafeBufferPointer { scanner.feed($0) })
    #expect(scanner.framing == .init())
  }
}
