/// Ids for new events: random (version 4) UUIDs from the system's CSPRNG,
/// unique across concurrent requests and restarts without any shared state.
enum EventID {
  static func make() -> String {
    var random = SystemRandomNumberGenerator()
    var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
    bytes[6] = bytes[6] & 0x0F | 0x40
    bytes[8] = bytes[8] & 0x3F | 0x80
    let hex = bytes.map { String($0 >> 4, radix: 16) + String($0 & 0x0F, radix: 16) }
    return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
  }
}
