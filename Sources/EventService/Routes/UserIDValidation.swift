import Libevent

/// `:id` of /getEventsByUserId, URL-decoded: 1–64 bytes of `[A-Za-z0-9_.-]`.
enum UserIDValidation {
  static func decode(_ raw: String) -> String? {
    guard let id = raw.percentDecoded,
      TokenCharacters.userID.matches(id, length: 1...64)
    else { return nil }
    return id
  }
}
