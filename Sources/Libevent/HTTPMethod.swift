internal import CLibevent
import Glibc

/// The request methods evhttp parses. Every one of them, and every method
/// evhttp does not know (`.other`), is let through to the handler, so the
/// application answers all of them, never evhttp's HTML 501.
public enum HTTPMethod: String, CaseIterable, Sendable {
  case get = "GET"
  case post = "POST"
  case head = "HEAD"
  case put = "PUT"
  case delete = "DELETE"
  case options = "OPTIONS"
  case trace = "TRACE"
  case connect = "CONNECT"
  case patch = "PATCH"
  /// A method evhttp does not know; libevent 2.1 keeps no record of its name.
  case other = "OTHER"

  /// evhttp's internal mark for a method it does not know (http-internal.h).
  private static let unknownCommand: UInt32 = 1 << 15

  init?(command: evhttp_cmd_type) {
    switch command {
    case EVHTTP_REQ_GET: self = .get
    case EVHTTP_REQ_POST: self = .post
    case EVHTTP_REQ_HEAD: self = .head
    case EVHTTP_REQ_PUT: self = .put
    case EVHTTP_REQ_DELETE: self = .delete
    case EVHTTP_REQ_OPTIONS: self = .options
    case EVHTTP_REQ_TRACE: self = .trace
    case EVHTTP_REQ_CONNECT: self = .connect
    case EVHTTP_REQ_PATCH: self = .patch
    case evhttp_cmd_type(rawValue: Self.unknownCommand): self = .other
    default: return nil
    }
  }

  var command: evhttp_cmd_type {
    switch self {
    case .get: EVHTTP_REQ_GET
    case .post: EVHTTP_REQ_POST
    case .head: EVHTTP_REQ_HEAD
    case .put: EVHTTP_REQ_PUT
    case .delete: EVHTTP_REQ_DELETE
    case .options: EVHTTP_REQ_OPTIONS
    case .trace: EVHTTP_REQ_TRACE
    case .connect: EVHTTP_REQ_CONNECT
    case .patch: EVHTTP_REQ_PATCH
    case .other: evhttp_cmd_type(rawValue: Self.unknownCommand)
    }
  }

  static let allCommandsMask = UInt16(allCases.reduce(0) { $0 | $1.command.rawValue })
}
