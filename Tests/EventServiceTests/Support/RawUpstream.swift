import Foundation
import Glibc
import Synchronization

/// An upstream that writes exactly the bytes a test scripts, for answers an
/// HTTP server library would refuse to produce: interim `1xx` answers, bodies
/// that never end, status lines and framing that are wrong on purpose.
///
/// Blocking sockets, one thread per connection, keep-alive: every request
/// on a connection is read whole (head and any `Content-Length` body) and
/// answered with `script(path)` before the next one is read.
final class RawUpstream: Sendable {
  /// What the upstream does with one request.
  enum Step: Sendable {
    case write([UInt8])
    /// Writes `byte` `count` times in 64 KiB pieces (stops when the peer leaves).
    case repeatByte(UInt8, count: Int)
    /// Waits `ms` milliseconds, or until the peer closes the connection
    /// (then counted in `abandoned`, and the script ends).
    case pause(ms: Int32)
    /// Closes the connection.
    case close
  }

  let port: Int
  private let listener: Int32
  private let served = Atomic<Int>(0)
  private let left = Atomic<Int>(0)
  private let script: @Sendable (String) -> [Step]

  init(script: @escaping @Sendable (_ path: String) -> [Step]) throws {
    self.script = script
    let (listener, port) = try TestSocket.bound(SOCK_STREAM)
    self.listener = listener
    self.port = port
    guard listen(listener, 512) == 0 else {
      throw TestFailure("raw upstream: listen errno \(errno)")
    }
    Thread.detachNewThread { [self] in
      while true {
        let fd = accept(listener, nil, nil)
        if fd < 0 { return }
        Thread.detachNewThread { self.serve(fd) }
      }
    }
  }

  /// Requests read so far.
  var requests: Int { served.load(ordering: .relaxed) }

  /// Requests whose connection the peer closed during a `pause`.
  var abandoned: Int { left.load(ordering: .relaxed) }

  /// Stops accepting (connections already open finish their script).
  func stop() {
    shutdown(listener, Int32(SHUT_RDWR))
    close(listener)
  }

  private func serve(_ fd: Int32) {
    defer { close(fd) }
    var on: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    var buffered: [UInt8] = []
    while let path = readRequest(fd, &buffered) {
      served.add(1, ordering: .relaxed)
      for step in script(path) {
        switch step {
        case .write(let bytes):
          guard writeAll(fd, bytes) else { return }
        case .repeatByte(let byte, let count):
          let piece = [UInt8](repeating: byte, count: 65_536)
          var left = count
          while left > 0 {
            guard writeAll(fd, Array(piece.prefix(left))) else { return }
            left -= min(left, piece.count)
          }
        case .pause(let ms):
          var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
          if poll(&poller, 1, ms) > 0 {
            var byte: UInt8 = 0
            if recv(fd, &byte, 1, Int32(MSG_PEEK)) <= 0 {
              left.add(1, ordering: .relaxed)
              return
            }
          }
        case .close:
          return
        }
      }
    }
  }

  /// The next request's path, once its head and body are in; nil at end of stream.
  private func readRequest(_ fd: Int32, _ buffered: inout [UInt8]) -> String? {
    let separator: [UInt8] = [13, 10, 13, 10]
    var chunk = [UInt8](repeating: 0, count: 16_384)
    while true {
      if let end = buffered.firstRange(of: separator) {
        let head = String(decoding: buffered[..<end.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let length =
          lines.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
          }.first ?? 0
        if buffered.count >= end.upperBound + length {
          buffered.removeFirst(end.upperBound + length)
          let parts = lines[0].split(separator: " ")
          return parts.count >= 2 ? String(parts[1]) : "/"
        }
      }
      let n = read(fd, &chunk, chunk.count)
      guard n > 0 else { return nil }
      buffered += chunk[0..<n]
    }
  }

  private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes {
        send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
      }
      guard n > 0 else { return false }
      offset += n
    }
    return true
  }

  /// A complete `200` answer with a JSON body, as raw bytes.
  static func ok(_ json: String) -> [UInt8] {
    Array(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
        .utf8)
  }
}
