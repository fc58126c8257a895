import Foundation
import Glibc
import MiniJSON

/// A deliberately plain HTTP/1.1 client over blocking sockets, so tests see
/// exactly what goes over the wire (any method, any header, raw bytes).
struct TestResponse {
  let status: Int
  let headers: [(String, String)]
  let body: [UInt8]

  func header(_ name: String) -> String? {
    headers.first { $0.0.lowercased() == name.lowercased() }?.1
  }

  var text: String { String(decoding: body, as: UTF8.self) }

  var json: JSONValue? { try? JSONValue.parse(body) }

  var errorCode: String? { json?["error"]?.stringValue }
}

struct TestRequest {
  var method = "GET"
  var path: String
  var headers: [(String, String)] = []
  var body: [UInt8]? = nil

  static func get(_ path: String, headers: [(String, String)] = []) -> TestRequest {
    TestRequest(method: "GET", path: path, headers: headers)
  }

  /// The same request with one more header.
  func with(header: (String, String)) -> TestRequest {
    var request = self
    request.headers.append(header)
    return request
  }

  static func postJSON(_ path: String, _ body: String, contentType: String? = "application/json")
    -> TestRequest
  {
    TestRequest(
      method: "POST", path: path, headers: contentType.map { [("Content-Type", $0)] } ?? [],
      body: Array(body.utf8))
  }
}

enum TestHTTP {
  static func send(_ request: TestRequest, port: Int) throws -> TestResponse {
    try receive(on: try open(request, port: port))
  }

  /// Sends every request before reading any answer, so they are all in flight at once.
  static func sendAll(_ requests: [TestRequest], port: Int) throws -> [TestResponse] {
    let sockets = try requests.map { try open($0, port: port) }
    return try sockets.map { try receive(on: $0) }
  }

  /// A connected TCP socket to 127.0.0.1:port; reads time out after 15 s.
  /// `receiveBuffer`: a small one keeps a large reply in the server until read.
  static func connectSocket(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    var timeout = timeval(tv_sec: 15, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    if var size = receiveBuffer {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      close(fd)
      throw TestFailure("connect to \(port): errno \(errno)")
    }
    return fd
  }

  static func open(_ request: TestRequest, port: Int) throws -> Int32 {
    let fd = try connectSocket(port: port)
    var head =
      "\(request.method) \(request.path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
    if let body = request.body { head += "Content-Length: \(body.count)\r\n" }
    head += "\r\n"
    try writeAll(fd, Array(head.utf8) + (request.body ?? []))
    return fd
  }

  static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
      guard n > 0 else { throw TestFailure("write: errno \(errno)") }
      offset += n
    }
  }

  /// Reads to end of stream (the request said `Connection: close`).
  static func receive(on fd: Int32) throws -> TestResponse {
    defer { close(fd) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = read(fd, &chunk, chunk.count)
      if n == 0 { break }
      guard n > 0 else { throw TestFailure("read: errno \(errno) after \(data.count) bytes") }
      data += chunk[0..<n]
    }
    return try parse(data)
  }

  static func parse(_ data: [UInt8]) throws -> TestResponse {
    let separator: [UInt8] = [13, 10, 13, 10]
    guard let end = data.firstRange(of: separator) else {
      throw TestFailure("no complete response head in \(data.count) bytes")
    }
    let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(
      separatedBy: "\r\n")
    let statusParts = head[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
      throw TestFailure("bad status line \(head[0])")
    }
    let headers = head.dropFirst().compactMap { line -> (String, String)? in
      guard let colon = line.firstIndex(of: ":") else { return nil }
      return (
        String(line[..<colon]),
        line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      )
    }
    return TestResponse(status: status, headers: headers, body: Array(data[end.upperBound...]))
  }

  /// Waits for something the test can observe to happen (at most 10 s),
  /// instead of sleeping and hoping it did.
  static func waitUntil(_ condition: () -> Bool) throws {
    let started = Date()
    while !condition() {
      guard Date().timeIntervalSince(started) < 10 else {
        throw TestFailure("condition not met within 10 s")
      }
      usleep(2_000)
    }
  }

  static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
  }
}

/// One keep-alive connection: requests go out one at a time, each answer
/// read by its `Content-Length`.
struct KeepAliveConnection {
  let fd: Int32
  private var buffered: [UInt8] = []

  init(port: Int) throws { fd = try TestHTTP.connectSocket(port: port) }

  func close() { Glibc.close(fd) }

  mutating func send(_ request: TestRequest) throws -> TestResponse {
    var head = "\(request.method) \(request.path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
    head += "Content-Length: \(request.body?.count ?? 0)\r\n\r\n"
    try TestHTTP.writeAll(fd, Array(head.utf8) + (request.body ?? []))
    let separator: [UInt8] = [13, 10, 13, 10]
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      if let end = buffered.firstRange(of: separator) {
        let head = try TestHTTP.parse(Array(buffered[..<end.upperBound]))
        let length = Int(head.header("Content-Length") ?? "0") ?? 0
        if buffered.count >= end.upperBound + length {
          let body = Array(buffered[end.upperBound..<end.upperBound + length])
          buffered.removeFirst(end.upperBound + length)
          return TestResponse(status: head.status, headers: head.headers, body: body)
        }
      }
      let n = read(fd, &chunk, chunk.count)
      guard n > 0 else { throw TestFailure("keep-alive read: \(n), errno \(errno)") }
      buffered += chunk[0..<n]
    }
  }
}
