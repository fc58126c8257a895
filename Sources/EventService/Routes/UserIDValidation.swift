import Libevent
import Telemetry

/// `:id` of /getEventsByUserId, URL-decoded: 1–64 bytes of `[A-Za-z0-9_.-]`,
/// and not `.` or `..`: sent upstream as a path segment, those would be
/// dot-segments that any path-normalising proxy turns into another resource.
enum UserIDValidation {
  static func decode(_ raw: String) -> String? {
    guard let id = raw.percentDecoded,
      TokenCharacters.userID.matches(id, length: 1...64), !isDotSegment(id)
    else { return nil }
    return id
  }

  /// `.` or `..`, which may not be requested as a path segment.
  static func isDotSegment(_ id: String) -> Bool {
    id.utf8.count <= 2 && id.utf8.allSatisfy { $0 == UInt8(ascii: ".") } && !id.isEmpty
  }
}
