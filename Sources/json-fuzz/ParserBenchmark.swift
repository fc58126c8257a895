import FoundationEssentials
import Glibc
import MiniJSON

/// `json-fuzz bench`: MiniJSON against FoundationEssentials' `JSONDecoder`
/// on the same 64 KiB documents, in one run (run it from a release build).
enum ParserBenchmark {
  static func run() {
    let columns = [
      ("document", 13), ("bytes", 7), ("MiniJSON.parse", 16), ("MiniJSON.validate", 19),
      ("JSONDecoder [Event]", 21), ("JSONDecoder enum", 18), ("parse ÷ [Event]", 0),
    ]
    print(columns.map { pad($0.0, $0.1) }.joined())
    for (name, document) in [
      ("ascii", document(multibyte: false)), ("multibyte", document(multibyte: true)),
      ("ascii-1", body(multibyte: false)), ("multibyte-1", body(multibyte: true)),
    ] {
      let data = Data(document)
      precondition((try? JSONValue.parse(document)) != nil && ReferenceJSON.decode(document) != nil)
      let parse = microseconds { _ = try? JSONValue.parse(document) }
      let validate = microseconds { _ = try? JSONValue.validate(document) }
      let typed = microseconds {
        if document.first == UInt8(ascii: "[") {
          _ = try? JSONDecoder().decode([BenchEvent].self, from: data)
        } else {
          _ = try? JSONDecoder().decode(BenchBody.self, from: data)
        }
      }
      let generic = microseconds { _ = ReferenceJSON.decode(document) }
      let cells = [
        name, "\(document.count)", format(parse) + " µs", format(validate) + " µs",
        format(typed) + " µs", format(generic) + " µs", format(parse / typed) + "×",
      ]
      print(zip(cells, columns).map { pad($0, $1.1) }.joined())
    }
  }

  /// One /addEvent-like object whose `details` string is about 64 KiB.
  static func body(multibyte: Bool, size: Int = 64 << 10) -> [UInt8] {
    let unit = multibyte ? "é日😀ж " : "event details "
    var details = ""
    while details.utf8.count < size - 64 { details += unit }
    return JSONValue.object([
      ("name", .string("big")), ("userId", .number("1")), ("details", .string(details)),
    ]).bytes
  }

  struct BenchBody: Decodable {
    let name: String
    let userId: Int
    let details: String
  }

  /// The documents' objects as a typed model: JSONDecoder's fastest use.
  struct BenchEvent: Decodable {
    let id: Int
    let name: String
    let userId: Int
    let details: String
    let tags: [String]
    let `public`: Bool
    let venue: String?
    let score: Double
  }

  /// About 64 KiB of event-like objects; in the multibyte one most string
  /// bytes belong to two-, three- and four-byte characters.
  static func document(multibyte: Bool, size: Int = 64 << 10) -> [UInt8] {
    let words =
      multibyte
      ? ["événement", "日本語のテキスト", "Ελληνικά", "emoji😀🎉", "Grüße", "中文字符", "русский"]
      : ["event", "details", "conference", "meeting", "launch", "review", "planning"]
    var out: [UInt8] = Array("[".utf8)
    var n = 0
    while out.count < size - 200 {
      if n > 0 { out.append(UInt8(ascii: ",")) }
      var text = ""
      // Fixed arithmetic, not randomness: the documents are the same in every run.
      for k in 0..<8 { text += words[(n * 7 + k * 3) % words.count] + " " }
      let event: JSONValue = .object([
        ("id", .number(String(n))), ("name", .string("\(words[n % words.count]) \(n)")),
        ("userId", .number(String(n * 37 % 1000))), ("details", .string(text)),
        (
          "tags",
          .array([.string(words[(n + 1) % words.count]), .string(words[(n + 2) % words.count])])
        ),
        ("public", .bool(n % 2 == 0)), ("venue", .null),
        ("score", .number("\(n % 100).\(n * 13 % 100)")),
      ])
      event.write(into: &out)
      n += 1
    }
    out.append(UInt8(ascii: "]"))
    return out
  }

  /// The median of 7 rounds, each long enough (≥ 50 ms) to read a clock.
  static func microseconds(_ body: () -> Void) -> Double {
    var iterations = 1
    while nanoseconds(iterations, body) < 50_000_000 { iterations *= 2 }
    let rounds = (0..<7).map { _ in
      Double(nanoseconds(iterations, body)) / Double(iterations) / 1_000
    }
    return rounds.sorted()[3]
  }

  private static func nanoseconds(_ iterations: Int, _ body: () -> Void) -> UInt64 {
    let start = now()
    for _ in 0..<iterations { body() }
    return now() - start
  }

  private static func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
  }

  private static func format(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
  }

  private static func pad(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
  }
}
