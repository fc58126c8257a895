import MiniJSON

/// The mock's data: users with their event ids, and events by id, seeded
/// verbatim as in the original API, quirks included: every seed event's `id`
/// is 1, users 2 and 3 both have `"id": 2`, events 2–4 reuse the first
/// event's details, and event 3 is named "Event 1".
struct MockStore {
  private(set) var userOrder: [String] = []
  private var users: [String: JSONValue] = [:]
  private var events: [(String, [UInt8])] = []
  private var eventIndex: [String: Int] = [:]
  private var usersCache: [UInt8]?
  private var eventsCache: [UInt8]?

  init(extraUsers: [MockSettings.ExtraUser]) {
    addUser(
      key: "1", id: .int(1), name: "user1", email: "hello@gmail.com",
      events: ["event-1", "event-3"])
    addUser(key: "2", id: .int(2), name: "user2", email: "hello2@gmail.com", events: ["event-2"])
    addUser(key: "3", id: .int(2), name: "user3", email: "hello3@gmail.com", events: ["event-4"])
    let seedEvents = [("Event 1", 1), ("Event 2", 2), ("Event 1", 1), ("Event 4", 3)]
    for (n, (name, userId)) in seedEvents.enumerated() {
      let event: JSONValue = .object([
        ("id", .int(1)), ("name", .string(name)), ("userId", .int(userId)),
        ("details", .string("This is the first event")),
      ])
      putEvent(id: "event-\(n + 1)", json: event.bytes)
    }
    for extra in extraUsers {
      let ids = (1...max(1, extra.events)).map { "\(extra.id)-event-\($0)" }.prefix(extra.events)
      addUser(
        key: extra.id, id: .string(extra.id), name: "user-\(extra.id)",
        email: "user-\(extra.id)@example.com", events: Array(ids))
      for (n, eventId) in ids.enumerated() {
        let event: JSONValue = .object([
          ("id", .int(n + 1)), ("name", .string("Event \(n + 1) of \(extra.id)")),
          ("userId", .string(extra.id)),
          ("details", .string("Generated event \(n + 1) of user \(extra.id)")),
        ])
        putEvent(id: eventId, json: event.bytes)
      }
    }
  }

  func user(_ key: String) -> JSONValue? { users[key] }

  func event(_ id: String) -> [UInt8]? { eventIndex[id].map { events[$0].1 } }

  mutating func allUsers() -> [UInt8] {
    if let usersCache { return usersCache }
    let body = JSONValue.array(userOrder.compactMap { users[$0] }).bytes
    usersCache = body
    return body
  }

  mutating func allEvents() -> [UInt8] {
    if let eventsCache { return eventsCache }
    var body: [UInt8] = [UInt8(ascii: "[")]
    for (i, (_, json)) in events.enumerated() {
      if i > 0 { body.append(UInt8(ascii: ",")) }
      body += json
    }
    body.append(UInt8(ascii: "]"))
    eventsCache = body
    return body
  }

  /// Stores an event and appends its id to its user's list.
  mutating func addEvent(id: String, userKey: String, json: [UInt8]) -> Bool {
    guard case .object(var members) = users[userKey] else { return false }
    putEvent(id: id, json: json)
    if let index = members.firstIndex(where: { $0.0 == "events" }),
      case .array(let ids) = members[index].1
    {
      members[index].1 = .array(ids + [.string(id)])
    }
    users[userKey] = .object(members)
    usersCache = nil
    return true
  }

  private mutating func addUser(
    key: String, id: JSONValue, name: String, email: String, events: [String]
  ) {
    if users[key] == nil { userOrder.append(key) }
    users[key] = .object([
      ("userName", .string(name)), ("id", id), ("email", .string(email)),
      ("events", .array(events.map(JSONValue.string))),
    ])
  }

  private mutating func putEvent(id: String, json: [UInt8]) {
    if let index = eventIndex[id] {
      events[index].1 = json
    } else {
      eventIndex[id] = events.count
      events.append((id, json))
    }
    eventsCache = nil
  }
}
