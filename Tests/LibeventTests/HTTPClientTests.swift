import Dispatch
import Testing

@testable import Libevent

/// The client and a test server on one loop, driven from the test thread.
@Suite("HTTPClient connection pool")
struct HTTPClientTests {
  final class Harness {
    let loop = EventLoop()
    var server: HTTPServer!
    var requestsSeen = 0
    var silent = false

    init(delayMs: Int64 = 0) throws {
      ProcessSetup.install()
      server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { [unowned self] request in
        self.requestsSeen += 1
        if self.silent { return self.hold(request) }
        let path = request.path
        self.loop.schedule(afterMs: delayMs) {
          request.respond(
            status: path == "/missing" ? 404 : 200, headers: [], body: Array("ok \(path)".utf8))
        }
      }
    }

    private var held: [ServerRequest] = []
    private func hold(_ request: ServerRequest) { held.append(request) }

    func client(max: Int, timeoutMs: Int64 = 2_000, port: Int? = nil) -> HTTPClient {
      HTTPClient(
        loop: loop, host: "127.0.0.1", port: port ?? server.port, maxConnections: max,
        timeoutMs: timeoutMs)
    }

    /// Runs the loop until `done` is called or `limitMs` passes; returns elapsed ms.
    @discardableResult
    func run(limitMs: Int64 = 5_000) -> Int64 {
      let start = loop.nowMs
      let watchdog = loop.schedule(afterMs: limitMs) { [loop] in loop.stop() }
      loop.run()
      watchdog.cancel()
      return loop.nowMs - start
    }

    func done() { loop.stop() }

    deinit { loop.close() }
  }

  @Test func concurrentRequestsUseOneConnectionEach() throws {
    let h = try Harness(delayMs: 200)
    let client = h.client(max: 4)
    var results: [Int] = []
    for i in 0..<4 {
      client.send(ClientRequest(method: .get, path: "/\(i)")) { result in
        results.append((try? result.get().status) ?? -1)
        if results.count == 4 { h.done() }
      }
    }
    let elapsed = h.run()
    #expect(results == [200, 200, 200, 200])
    #expect(elapsed < 350, "4 × 200 ms in parallel took \(elapsed) ms")
    #expect(client.openConnections == 4)
  }

  @Test func requestsBeyondThePoolWaitInOrder() throws {
    let h = try Harness(delayMs: 100)
    let client = h.client(max: 1)
    var order: [String] = []
    for i in 0..<3 {
      client.send(ClientRequest(method: .get, path: "/\(i)")) { result in
        order.append(String(decoding: (try? result.get().body) ?? [], as: UTF8.self))
        if order.count == 3 { h.done() }
      }
    }
    #expect(client.queuedRequests == 2)
    let elapsed = h.run()
    #expect(order == ["ok /0", "ok /1", "ok /2"])
    #expect(elapsed >= 290)
    #expect(client.openConnections == 1)
  }

  @Test func keepAliveConnectionsAreReused() throws {
    let h = try Harness()
    let client = h.client(max: 2)
    var remaining = 10
    func next() {
      client.send(ClientRequest(method: .get, path: "/x")) { _ in
        remaining -= 1
        if remaining == 0 { h.done() } else { next() }
      }
    }
    next()
    h.run()
    #expect(remaining == 0)
    #expect(client.openConnections == 1)
  }

  @Test func refusedConnectionIsAConnectFailure() throws {
    let h = try Harness()
    let client = h.client(max: 2, port: 1)
    var outcome: Result<ClientResponse, ClientFailure>?
    client.send(ClientRequest(method: .get, path: "/")) {
      outcome = $0
      h.done()
    }
    h.run()
    #expect(outcome.map { if case .failure(.connect) = $0 { true } else { false } } == true)
  }

  @Test func aSilentServerTimesOutAtTheDeadline() throws {
    let h = try Harness()
    h.silent = true
    let client = h.client(max: 2, timeoutMs: 150)
    var outcome: Result<ClientResponse, ClientFailure>?
    client.send(ClientRequest(method: .get, path: "/")) {
      outcome = $0
      h.done()
    }
    let elapsed = h.run()
    #expect(outcome.map { if case .failure(.timeout) = $0 { true } else { false } } == true)
    #expect((140...400).contains(elapsed), "timed out after \(elapsed) ms")
  }

  /// Cancelled calls, queued or in flight, never complete and leave no context behind.
  @Test func cancelledCallsNeverCompleteAndAreReleased() throws {
    let h = try Harness(delayMs: 100)
    let client = h.client(max: 1)
    var completions = 0
    weak var inFlight: ClientCall?
    weak var queued: ClientCall?
    do {
      let first = client.send(ClientRequest(method: .get, path: "/a")) { _ in completions += 1 }
      let second = client.send(ClientRequest(method: .get, path: "/b")) { _ in completions += 1 }
      inFlight = first
      queued = second
      h.loop.schedule(afterMs: 20) {
        first.cancel()
        second.cancel()
      }
    }
    client.send(ClientRequest(method: .get, path: "/c")) { _ in h.done() }
    h.run()
    #expect(completions == 0)
    #expect(inFlight == nil)
    #expect(queued == nil)
  }

  @Test func postsGoOutOnFreshConnectionsAndCloseAfter() throws {
    let h = try Harness()
    let client = h.client(max: 4)
    var statuses: [Int] = []
    client.send(ClientRequest(method: .get, path: "/warm")) { _ in
      client.send(ClientRequest(method: .post, path: "/p", body: Array("{}".utf8))) { result in
        statuses.append((try? result.get().status) ?? -1)
        h.done()
      }
    }
    h.run()
    #expect(statuses == [200])
    // The warm GET connection stayed idle; the POST needed a second one.
    #expect(client.openConnections == 2)
  }

  @Test func shutdownFailsWhatIsInFlightAndQueued() throws {
    let h = try Harness()
    h.silent = true
    let client = h.client(max: 1)
    var failures: [ClientFailure] = []
    weak var call: ClientCall?
    do {
      call = client.send(ClientRequest(method: .get, path: "/1")) {
        if case .failure(let f) = $0 { failures.append(f) }
      }
      client.send(ClientRequest(method: .get, path: "/2")) {
        if case .failure(let f) = $0 { failures.append(f) }
      }
    }
    h.loop.schedule(afterMs: 50) {
      client.shutdown()
      h.done()
    }
    h.run()
    #expect(failures == [.closed, .closed])
    #expect(call == nil)
  }
}
