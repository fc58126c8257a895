import Glibc
import Testing

@testable import Libevent

/// What libevent will call back stays alive while registered, whoever holds
/// it: each helper below creates an object and returns without keeping it,
/// which is what an optimised build does to a local it never reads again.
@Suite("Loop registrations")
struct LoopRegistrationTests {
  init() { ProcessSetup.install() }

  final class Flag {
    var value = false
  }

  private func armUnheldTimer(on loop: EventLoop, afterMs ms: Int64, _ flag: Flag) {
    LoopTimer(loop: loop) { flag.value = true }.arm(afterMs: ms)
  }

  @discardableResult
  private func startUnheldServer(on loop: EventLoop, owner: AnyObject) throws -> Int {
    let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { [owner] request in
      withExtendedLifetime(owner) {
        request.respond(status: 200, headers: [], body: Array("alive".utf8))
      }
    }
    return server.port
  }

  @Test func anArmedTimerFiresWithNobodyHoldingIt() {
    let loop = EventLoop()
    let fired = Flag()
    armUnheldTimer(on: loop, afterMs: 1, fired)
    #expect(loop.registrationCount == 1)
    loop.run()
    #expect(fired.value)
    #expect(loop.registrationCount == 0)
  }

  @Test func aCancelledTimerIsReleasedAndNeverFires() {
    let loop = EventLoop()
    let fired = Flag()
    weak var weakTimer: LoopTimer?
    do {
      let timer = LoopTimer(loop: loop) { fired.value = true }
      weakTimer = timer
      timer.arm(afterMs: 1)
      timer.cancel()
    }
    #expect(weakTimer == nil)
    loop.run()
    #expect(!fired.value)
    #expect(loop.registrationCount == 0)
  }

  @Test func aServerNobodyHoldsKeepsServing() throws {
    let loop = EventLoop()
    let port = try startUnheldServer(on: loop, owner: Flag())
    let client = HTTPClient(
      loop: loop, host: "127.0.0.1", port: port, maxConnections: 1, timeoutMs: 2_000)
    var body = ""
    client.send(ClientRequest(method: .get, path: "/")) { result in
      body = String(decoding: (try? result.get().body) ?? [], as: UTF8.self)
      loop.stop()
    }
    loop.schedule(afterMs: 2_000) { loop.stop() }
    loop.run()
    #expect(body == "alive")
    loop.close()
  }

  @Test func closingTheLoopEndsEveryRegistrationAndBreaksCycles() throws {
    let loop = EventLoop()
    weak var weakOwner: Flag?
    let fired = Flag()
    do {
      let owner = Flag()
      weakOwner = owner
      try startUnheldServer(on: loop, owner: owner)
    }
    armUnheldTimer(on: loop, afterMs: 60_000, fired)
    loop.onSignal(SIGUSR2) { _ in }
    _ = Waker(loop: loop) {}
    #expect(loop.registrationCount == 4)
    #expect(weakOwner != nil)
    loop.close()
    #expect(loop.registrationCount == 0)
    #expect(weakOwner == nil)
    // Nothing is left to wait for: run() returns at once.
    loop.run()
    #expect(!fired.value)
  }

  /// A server's teardown cancels its own timers, which are registered too.
  @Test func closingTheLoopWhileAServerHasATimerArmed() throws {
    let loop = EventLoop()
    // Registered first and cancelled last, so the registry's order is
    // shuffled: the drop timer ends up before the server.
    let early = loop.schedule(afterMs: 60_000) {}
    // `drop` closes the connection on a 0 ms timer; stop before it fires.
    let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { request in
      request.drop()
      loop.stop()
    }
    let client = HTTPClient(
      loop: loop, host: "127.0.0.1", port: server.port, maxConnections: 1, timeoutMs: 2_000)
    var settled = false
    client.send(ClientRequest(method: .get, path: "/")) { _ in settled = true }
    loop.run()
    early.cancel()
    #expect(server.inFlight == 1)
    // The server, its drop timer, its deadline tick (a client connection is
    // open), the client's pooled connection and its deadline.
    #expect(loop.registrationCount == 5)
    loop.close()
    #expect(loop.registrationCount == 0)
    #expect(server.isClosed)
    client.shutdown()
    #expect(settled)
  }

  @Test func aWakerNobodyHoldsWakesTheLoop() {
    let loop = EventLoop()
    let woken = Flag()
    let handle = Waker(loop: loop) {
      woken.value = true
      loop.stop()
    }.handle
    handle.wake()
    loop.schedule(afterMs: 2_000) { loop.stop() }
    loop.run()
    #expect(woken.value)
    loop.close()
  }
}
