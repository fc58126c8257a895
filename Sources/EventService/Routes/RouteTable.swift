import Glibc
import Libevent
import Telemetry

/// The public routes (`Telemetry.RouteID`): one table feeds dispatch, the
/// `Allow` header of 405s and the `route` label of metrics.
extension RouteID {
  /// GET routes also answer HEAD (headers only).
  func allows(_ method: HTTPMethod) -> Bool {
    self == .addEvent ? method == .post : method == .get || method == .head
  }

  var allowHeader: StaticString { self == .addEvent ? "POST" : "GET, HEAD" }

  /// The route a path belongs to, with its `:id` segment (still encoded).
  /// Compared as bytes: `hasPrefix` and a `String`-keyed table cost several
  /// times as much.
  static func match(path: String) -> (RouteID, parameter: String?)? {
    var path = path
    return path.withUTF8 { bytes in
      let prefix = byUserPrefix
      if bytes.count >= prefix.count && memcmp(bytes.baseAddress!, prefix, prefix.count) == 0 {
        let rest = UnsafeBufferPointer(rebasing: bytes[prefix.count...])
        guard !rest.contains(UInt8(ascii: "/")) else { return nil }
        return (.getEventsByUserId, String(decoding: rest, as: UTF8.self))
      }
      for (route, name) in exact
      where name.count == bytes.count && memcmp(bytes.baseAddress!, name, name.count) == 0 {
        return (route, nil)
      }
      return nil
    }
  }

  private static let byUserPrefix = Array("/getEventsByUserId/".utf8)
  private static let exact = allCases.filter { $0 != .getEventsByUserId }.map {
    ($0, Array($0.rawValue.utf8))
  }
}
