import Foundation
import Synchronization

/// A nameserver on 127.0.0.1 for tests: answers A queries from a fixed
/// table (in the table's order), nothing for AAAA, and NXDOMAIN for names it
/// does not know. The service is pointed at it with a resolv.conf of its
/// own (`RESOLV_CONF`), so no test asks a real DNS server anything.
final class FakeDNS: Sendable {
  let port: Int
  /// A resolv.conf naming this server.
  let resolvConf: String
  private let fd: Int32
  private let stopped = Mutex(false)
  private let finished = DispatchSemaphore(value: 0)
  /// Queries seen, by lowercased name.
  let queries = Tally()

  init(records: [String: [String]]) throws {
    let (fd, port) = try TestSocket.bound(SOCK_DGRAM)
    self.fd = fd
    self.port = port
    // Woken every 100 ms to see whether to stop.
    var wait = timeval(tv_sec: 0, tv_usec: 100_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    resolvConf =
      FileManager.default.temporaryDirectory
      .appendingPathComponent("resolv-\(getpid())-\(port).conf").path
    try "nameserver 127.0.0.1:\(port)\noptions timeout:1 attempts:2\n"
      .write(toFile: resolvConf, atomically: true, encoding: .utf8)
    let table = Dictionary(uniqueKeysWithValues: records.map { ($0.key.lowercased(), $0.value) })
    let thread = Thread { [self] in serve(table) }
    thread.start()
  }

  func stop() {
    stopped.withLock { $0 = true }
    finished.wait()
    close(fd)
    try? FileManager.default.removeItem(atPath: resolvConf)
  }

  private func serve(_ table: [String: [String]]) {
    defer { finished.signal() }
    var buffer = [UInt8](repeating: 0, count: 512)
    while !stopped.withLock({ $0 }) {
      var peer = sockaddr_storage()
      var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
      let count = withUnsafeMutablePointer(to: &peer) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          recvfrom(fd, &buffer, buffer.count, 0, $0, &peerLength)
        }
      }
      guard count > 0, let reply = Self.answer(Array(buffer[..<count]), table: table, seen: queries)
      else { continue }
      _ = withUnsafePointer(to: &peer) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(fd, reply, reply.count, 0, $0, peerLength)
        }
      }
    }
  }

  /// The reply to one query (RFC 1035 §4), or nil for what is not one.
  static func answer(_ query: [UInt8], table: [String: [String]], seen: Tally) -> [UInt8]? {
    guard query.count > 12 else { return nil }
    var labels: [String] = []
    var at = 12
    while at < query.count, query[at] != 0 {
      let length = Int(query[at])
      guard at + 1 + length <= query.count else { return nil }
      labels.append(String(decoding: query[(at + 1)..<(at + 1 + length)], as: UTF8.self))
      at += 1 + length
    }
    guard at + 5 <= query.count else { return nil }
    let questionEnd = at + 5
    let type = UInt16(query[at + 1]) << 8 | UInt16(query[at + 2])
    let name = labels.joined(separator: ".").lowercased()
    seen.add(name)
    let known = table[name]
    let addresses = type == 1 ? (known ?? []) : []
    var reply = Array(query[0..<2])
    // A response, recursion desired and available; NXDOMAIN for unknown names.
    reply += [0x81, known == nil ? 0x83 : 0x80]
    reply += [0, 1, 0, UInt8(addresses.count), 0, 0, 0, 0]
    reply += query[12..<questionEnd]
    for address in addresses {
      var bytes = in_addr()
      inet_pton(AF_INET, address, &bytes)
      let raw = withUnsafeBytes(of: bytes.s_addr) { Array($0) }
      // A pointer to the question's name, type A, class IN, TTL 60.
      reply += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + raw
    }
    return reply
  }
}
