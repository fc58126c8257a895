/// Something libevent calls back through an unretained pointer: a timer, a
/// signal watcher, a waker, an HTTP server.
///
/// While registered, the loop holds it strongly, so it lives exactly as long
/// as libevent may call it — whoever else does or does not hold it. In `-O`
/// builds a local that is never read again dies at once; an object that only
/// a C callback refers to would otherwise be freed (and its event removed)
/// before the loop even starts. Registration ends with the subclass's own
/// `cancel`/`close`, or with `EventLoop.close()` for whatever is left.
public class LoopRegistration {
  public let loop: EventLoop
  /// Index in the loop's registry, or -1.
  var registrySlot = -1

  init(loop: EventLoop) { self.loop = loop }

  func register() { loop.register(self) }

  func unregister() { loop.unregister(self) }

  /// Called by `EventLoop.close()`: stop every C callback. The registry has
  /// already let go of the object.
  func endRegistration() {}
}

extension EventLoop {
  /// How many objects the loop holds for libevent (timers armed, watchers,
  /// servers listening or answering). Zero after a complete shutdown.
  public var registrationCount: Int { registry.count }

  func register(_ object: LoopRegistration) {
    guard object.registrySlot < 0 else { return }
    object.registrySlot = registry.count
    registry.append(object)
  }

  func unregister(_ object: LoopRegistration) {
    let slot = object.registrySlot
    guard slot >= 0 else { return }
    object.registrySlot = -1
    let last = registry.removeLast()
    if last !== object {
      registry[slot] = last
      last.registrySlot = slot
    }
  }

  /// Ends every registration still open — call it once `run()` has returned
  /// for good. Timers are disarmed, watchers removed, servers freed, and the
  /// reference cycles through the loop are broken so everything is freed.
  public func close() {
    let all = registry
    registry.removeAll()
    // Every slot is cleared before any object runs its teardown, which may
    // cancel other registered objects (a server its timers).
    for object in all { object.registrySlot = -1 }
    for object in all.reversed() { object.endRegistration() }
  }
}
