import Libevent

/// The public routes: one table feeds dispatch, the `Allow` header of 405s
/// and the `route` label of metrics.
public enum RouteID: String, CaseIterable, Sendable {
  case getUsers = "/getUsers"
  case getEvents = "/getEvents"
  case getEventsByUserId = "/getEventsByUserId/:id"
  case addEvent = "/addEvent"
  case health = "/health"
  case metrics = "/metrics"

  /// GET routes also answer HEAD (headers only).
  func allows(_ method: HTTPMethod) -> Bool {
    self == .addEvent ? method == .post : method == .get || method == .head
  }

  var allowHeader: StaticString { self == .addEvent ? "POST" : "GET, HEAD" }

  /// The route a path belongs to, with its `:id` segment (still encoded).
  static func match(path: String) -> (RouteID, parameter: String?)? {
    let prefix = "/getEventsByUserId/"
    if path.hasPrefix(prefix) {
      let rest = path.dropFirst(prefix.count)
      return rest.contains("/") ? nil : (.getEventsByUserId, String(rest))
    }
    return exact[path].map { ($0, nil) }
  }

  private static let exact: [String: RouteID] = Dictionary(
    uniqueKeysWithValues: allCases.filter { $0 != .getEventsByUserId }.map { ($0.rawValue, $0) })
}
