import MiniJSON

/// The body sent upstream for `/addEvent`: the client's event with the
/// service's `id` (any `id` of the client's replaced).
enum EventWithID {
  /// `body` is the client's validated JSON object and `members` its parse.
  /// The usual case splices `"id":"…",` in after the opening brace, so the
  /// client's bytes pass through untouched and are copied once; only a
  /// body that has its own `id` is written anew.
  static func make(id: String, body: [UInt8], members: [(String, JSONValue)]) -> [UInt8] {
    var idMember: [UInt8] = Array(#""id":"#.utf8)
    JSONValue.writeString(id, into: &idMember)
    guard !members.contains(where: { $0.0 == "id" }),
      let brace = body.firstIndex(of: UInt8(ascii: "{"))
    else {
      return JSONValue.object(members.filter { $0.0 != "id" } + [("id", .string(id))]).bytes
    }
    var out: [UInt8] = []
    out.reserveCapacity(body.count + idMember.count + 1)
    out += body[...brace]
    out += idMember
    // A validated event has members (name, userId), so a comma follows.
    out.append(UInt8(ascii: ","))
    out += body[(brace + 1)...]
    return out
  }
}
