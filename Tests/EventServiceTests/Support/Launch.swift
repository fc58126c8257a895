import Foundation
import Synchronization

/// Starts child processes one at a time. swift-corelibs-foundation's
/// `Process.run()` is not safe to call from several threads at once: under
/// load, with the suite's tests starting binaries in parallel, one run in
/// twenty crashed inside it (a bad read in `memmove`, in `Process.run`).
enum Launch {
  private static let lock = Mutex(())

  static func run(_ process: Process) throws {
    try lock.withLock { _ in try process.run() }
  }
}
