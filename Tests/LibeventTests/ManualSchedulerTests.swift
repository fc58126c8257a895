import Testing

@testable import Libevent

/// The test clock: time moves only when told, and timers fire at their own
/// deadlines, in order.
@Suite("ManualScheduler")
struct ManualSchedulerTests {
  @Test func timersFireAtTheirDeadlinesInOrder() {
    let clock = ManualScheduler(nowMs: 1_000)
    var fired: [(String, Int64)] = []
    let a = clock.makeTimer { fired.append(("a", clock.nowMs)) }
    let b = clock.makeTimer { fired.append(("b", clock.nowMs)) }
    let c = clock.makeTimer { fired.append(("c", clock.nowMs)) }
    a.arm(afterMs: 300)
    b.arm(afterMs: 100)
    c.arm(afterMs: 100)
    clock.advance(byMs: 99)
    #expect(fired.isEmpty)
    clock.advance(byMs: 1)
    #expect(fired.map(\.0) == ["b", "c"])
    #expect(fired.map(\.1) == [1_100, 1_100])
    clock.advance(byMs: 1_000)
    #expect(fired.map(\.0) == ["b", "c", "a"])
    #expect(fired.last?.1 == 1_300)
    #expect(clock.nowMs == 2_100)
  }

  @Test func rearmingReplacesAndCancellingStops() {
    let clock = ManualScheduler()
    var count = 0
    let timer = clock.makeTimer { count += 1 }
    timer.arm(afterMs: 50)
    timer.arm(afterMs: 200)
    #expect(clock.armedCount == 1)
    clock.advance(byMs: 100)
    #expect(count == 0)
    #expect(timer.isArmed)
    timer.cancel()
    clock.advance(byMs: 1_000)
    #expect(count == 0)
    #expect(!timer.isArmed)
  }

  @Test func aTimerArmedByAHandlerFiresInTheSameAdvanceIfDue() {
    let clock = ManualScheduler()
    var ticks: [Int64] = []
    var timer: (any ScheduledTimer)?
    timer = clock.makeTimer {
      ticks.append(clock.nowMs)
      if ticks.count < 3 { timer?.arm(afterMs: 10) }
    }
    timer?.arm(afterMs: 10)
    clock.advance(byMs: 100)
    #expect(ticks == [10, 20, 30])
  }
}
