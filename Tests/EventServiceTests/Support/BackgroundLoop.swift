import Dispatch
import Foundation
import Libevent
import Synchronization

/// Runs an event loop on its own thread, the way the service runs: every
/// libevent object is created on that thread by `build`, and only Sendable
/// values (ports, a wake handle) come back. `stop()` ends the loop and waits.
final class BackgroundLoop: Sendable {
  private struct State {
    var ports: [Int] = []
    var failure: String?
    var wake: WakeHandle?
  }

  private final class Shared: Sendable {
    let state = Mutex(State())
  }

  private let shared = Shared()
  private let started = DispatchSemaphore(value: 0)
  private let finished = DispatchSemaphore(value: 0)

  /// `build` creates everything on the loop thread and returns the objects to
  /// keep alive together with the ports to hand back.
  init(_ build: @escaping @Sendable (EventLoop) throws -> (keep: Any, ports: [Int])) throws {
    ProcessSetup.install()
    let thread = Thread { [shared, started, finished] in
      let loop = EventLoop()
      var kept: Any?
      let waker = Waker(loop: loop) { loop.stop() }  // held by the loop
      do {
        let built = try build(loop)
        kept = built.keep
        shared.state.withLock {
          $0.ports = built.ports
          $0.wake = waker.handle
        }
      } catch {
        shared.state.withLock { $0.failure = "\(error)" }
      }
      started.signal()
      if kept != nil { loop.run() }
      kept = nil
      loop.close()
      finished.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    started.wait()
    if let failure = shared.state.withLock({ $0.failure }) {
      finished.wait()
      throw TestFailure(failure)
    }
  }

  var ports: [Int] { shared.state.withLock { $0.ports } }

  func stop() {
    guard
      let wake = shared.state.withLock({ state in
        defer { state.wake = nil }
        return state.wake
      })
    else { return }
    wake.wake()
    finished.wait()
  }
}

struct TestFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// A counter shared between the loop thread and the test.
final class Tally: Sendable {
  private let counts = Mutex<[String: Int]>([:])

  func add(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }

  subscript(key: String) -> Int { counts.withLock { $0[key, default: 0] } }

  var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

/// The trace headers of each upstream request, in arrival order.
final class UpstreamHeaderLog: Sendable {
  struct Entry: Sendable {
    let path: String
    let traceparent: String?
    let requestID: String?
    var host: String? = nil
    var apiKey: String? = nil
  }
  private let entries = Mutex<[Entry]>([])

  func add(_ entry: Entry) { entries.withLock { $0.append(entry) } }

  var all: [Entry] { entries.withLock { $0 } }
}
