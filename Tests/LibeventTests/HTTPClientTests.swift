import Testing

@testable import Libevent

/// The client against a real evhttp server on the same loop, driven from the
/// test thread. The pool's rules are tabled in `ConnectionPoolTests`; these
/// check that the executor carries them out with libevent. The server
/// answers when a test says so, so no outcome depends on timing.
@Suite("HTTPClient over libevent")
struct HTTPClientTests {
  final class Harness {
    let loop = EventLoop()
    var server: HTTPServer!
    /// Requests the server has not answered yet.
    var held: [ServerRequest] = []
    var mostHeldAtOnce = 0
    /// Called for each request as it arrives; the default answers at once.
    var onRequest: ((ServerRequest) -> Void)?

    init() throws {
      ProcessSetup.install()
      server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { [unowned self] request in
        self.held.append(request)
        self.mostHeldAtOnce = max(self.mostHeldAtOnce, self.held.count)
        if let onRequest = self.onRequest { onRequest(request) } else { self.answer(request) }
      }
    }

    func answer(_ request: ServerRequest) {
      held.removeAll { $0 === request }
      let path = request.path
      request.respond(
        status: path == "/missing" ? 404 : 200, headers: [], body: Array("ok \(path)".utf8))
    }

    func answerAll() { held.forEach(answer) }

    func client(max: Int, timeoutMs: Int64 = 2_000, port: Int? = nil) -> HTTPClient {
      HTTPClient(
        loop: loop, host: "127.0.0.1", port: port ?? server.port, maxConnections: max,
        timeoutMs: timeoutMs)
    }

    /// Runs the loop until `done` is called (or a 5 s safety limit); returns elapsed ms.
    @discardableResult
    func run() -> Int64 {
      let start = loop.nowMs
      let watchdog = loop.schedule(afterMs: 5_000) { [loop] in loop.stop() }
      loop.run()
      watchdog.cancel()
      return loop.nowMs - start
    }

    func done() { loop.stop() }

    deinit { loop.close() }
  }

  @Test func concurrentRequestsUseOneConnectionEach() throws {
    let h = try Harness()
    // Answer only once all four are at the server at the same time.
    h.onRequest = { _ in if h.held.count == 4 { h.answerAll() } }
    let client = h.client(max: 4)
    var results: [Int] = []
    for i in 0..<4 {
      client.send(ClientRequest(method: .get, path: "/\(i)")) { result in
        results.append((try? result.get().status) ?? -1)
        if results.count == 4 { h.done() }
      }
    }
    h.run()
    #expect(results == [200, 200, 200, 200])
    #expect(h.mostHeldAtOnce == 4)
    #expect(client.openConnections == 4)
  }

  @Test func requestsBeyondThePoolWaitInOrder() throws {
    let h = try Harness()
    let client = h.client(max: 1)
    var order: [String] = []
    for i in 0..<3 {
      client.send(ClientRequest(method: .get, path: "/\(i)")) { result in
        order.append(String(decoding: (try? result.get().body) ?? [], as: UTF8.self))
        if order.count == 3 { h.done() }
      }
    }
    #expect(client.queuedRequests == 2)
    #expect(client.connectionUse == ConnectionUse(busy: 1, idle: 0, waiting: 2))
    h.run()
    #expect(order == ["ok /0", "ok /1", "ok /2"])
    #expect(h.mostHeldAtOnce == 1)
    #expect(client.openConnections == 1)
    // Answered: the connection waits in the pool for the next request.
    #expect(client.connectionUse == ConnectionUse(busy: 0, idle: 1, waiting: 0))
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
    // A failed connection is closed, never reused.
    #expect(client.openConnections == 0)
  }

  @Test func aSilentServerTimesOutAtTheDeadline() throws {
    let h = try Harness()
    h.onRequest = { _ in }
    let client = h.client(max: 2, timeoutMs: 150)
    var outcome: Result<ClientResponse, ClientFailure>?
    client.send(ClientRequest(method: .get, path: "/")) {
      outcome = $0
      h.done()
    }
    let elapsed = h.run()
    #expect(outcome.map { if case .failure(.timeout) = $0 { true } else { false } } == true)
    #expect(elapsed >= 140, "timed out after \(elapsed) ms")
    #expect(client.openConnections == 0)
  }

  /// Cancelled calls, queued or in flight, never complete and leave no context behind.
  @Test func cancelledCallsNeverCompleteAndAreReleased() throws {
    let h = try Harness()
    let client = h.client(max: 1)
    var completions = 0
    weak var inFlight: ClientCall?
    weak var queued: ClientCall?
    do {
      let first = client.send(ClientRequest(method: .get, path: "/a")) { _ in completions += 1 }
      let second = client.send(ClientRequest(method: .get, path: "/b")) { _ in completions += 1 }
      inFlight = first
      queued = second
      // Both are cancelled once /a is at the server (so it is truly in flight).
      h.onRequest = { [weak first, weak second] request in
        if request.path == "/a" {
          first?.cancel()
          second?.cancel()
        } else {
          h.answer(request)
        }
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
    // The warm GET connection stayed idle; the POST needed a second one,
    // which is gone once answered (`Connection: close`).
    #expect(client.openConnections == 1)
  }

  @Test func shutdownFailsWhatIsInFlightAndQueued() throws {
    let h = try Harness()
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
    h.onRequest = { _ in
      client.shutdown()
      h.done()
    }
    h.run()
    #expect(failures == [.closed, .closed])
    #expect(call == nil)
    #expect(client.openConnections == 0)
  }
}
