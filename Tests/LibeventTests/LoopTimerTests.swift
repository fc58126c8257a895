import Testing

@testable import Libevent

/// A timer never fires before its delay has passed on the monotonic clock,
/// however long the loop iteration that armed it had already run. Hedged
/// fetches depend on it: their timers are set at the running p95, a few
/// milliseconds above the median, from inside a long fan-out iteration.
@Suite("Loop timers")
struct LoopTimerTests {
  init() { ProcessSetup.install() }

  final class Firings {
    /// (asked delay, real delay) per timer, in milliseconds.
    var delays: [(asked: Int64, real: Int64)] = []
  }

  private static func spin(forMs ms: Int64) {
    let end = MonotonicClock.nowNs() + UInt64(ms) * 1_000_000
    while MonotonicClock.nowNs() < end {}
  }

  private static func arm(on loop: EventLoop, afterMs ms: Int64, _ firings: Firings) {
    let armedNs = MonotonicClock.nowNs()
    loop.schedule(afterMs: ms) {
      let real = Int64((MonotonicClock.nowNs() - armedNs) / 1_000_000)
      firings.delays.append((ms, real))
    }
  }

  @Test func aTimerArmedLateInABusyIterationWaitsItsWholeDelay() throws {
    // A request handler that has been busy for 30 ms arms a 20 ms timer,
    // as a 1,000-event fan-out arms its hedge timers.
    let loop = EventLoop()
    let firings = Firings()
    let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { request in
      Self.spin(forMs: 30)
      Self.arm(on: loop, afterMs: 20, firings)
      request.respond(status: 200, headers: [], body: [])
    }
    let client = HTTPClient(
      loop: loop, host: "127.0.0.1", port: server.port, maxConnections: 1, timeoutMs: 2_000)
    client.send(ClientRequest(method: .get, path: "/")) { _ in }
    loop.schedule(afterMs: 300) { loop.stop() }
    loop.run()
    #expect(firings.delays.count == 1)
    #expect(firings.delays.allSatisfy { $0.real >= $0.asked })
    loop.close()
  }

  @Test func timersNeverFireEarlyOnACoarseClockTick() {
    // CLOCK_MONOTONIC_COARSE ticks every 1–4 ms; timers read from it fire
    // up to a tick early. Delays spread over several ticks catch that.
    let loop = EventLoop()
    let firings = Firings()
    for offset in 0..<24 {
      loop.schedule(afterMs: Int64(offset) * 3 / 2) {
        Self.arm(on: loop, afterMs: 5 + Int64(offset % 7), firings)
      }
    }
    loop.run()
    #expect(firings.delays.count == 24)
    let early = firings.delays.filter { $0.real < $0.asked }
    #expect(early.isEmpty, "fired early: \(early)")
  }
}
