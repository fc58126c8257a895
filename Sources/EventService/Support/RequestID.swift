/// `X-Request-Id`: the client's if it is 1–128 characters of `[A-Za-z0-9._:-]`,
/// else a new one: a random per-process prefix and a counter.
struct RequestIDSource {
  private let prefix: String
  private var counter: UInt64 = 0

  init<G: RandomNumberGenerator>(using random: inout G) {
    prefix = String(UInt32.random(in: .min ... .max, using: &random), radix: 16)
  }

  mutating func id(from header: String?) -> String {
    if let header, Self.isValid(header) { return header }
    counter += 1
    return "\(prefix)-\(String(counter, radix: 16))"
  }

  static func isValid(_ value: String) -> Bool {
    TokenCharacters.matches(value, length: 1...128, extra: "._:-")
  }
}
