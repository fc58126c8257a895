import Testing

@testable import Resilience

/// Jitter at its ceiling: `Int64.random(in: 0...c)` draws `c` from an
/// all-ones generator, so each backoff is exactly its ceiling.
private struct Ceiling: RandomNumberGenerator {
  mutating func next() -> UInt64 { .max }
}

/// One event of a fetch, at a time in milliseconds.
private enum Step {
  case start
  case ended(FetchAttempt, AttemptResult)
  case retryDue, hedgeDue, abandoned
}

/// A row: events at times, then the actions of the last event and the phase.
private struct Row: CustomTestStringConvertible {
  let name: String
  var hedged = false
  var deadlineMs: Int64? = nil
  var retries = 2
  var budgetPercent = 20
  var reserve = 10
  var hedgeAfterMs: Int64 = 0
  let steps: [(Int64, Step)]
  let actions: FetchActions
  let phase: FetchMachine.Phase

  var testDescription: String { name }
}

/// Backoff ceilings 100, 200, 400 ms; attempts time out after 1 s.
private func run(_ row: Row) -> (FetchActions, FetchMachine.Phase) {
  var hedging = HedgeSettings()
  hedging.enabled = row.hedged
  hedging.afterMs = row.hedgeAfterMs
  hedging.budgetPercent = 100
  var policy = FetchPolicy(
    backoff: RetryBackoff(retries: row.retries, baseMs: 100, maxMs: 1_000),
    budget: .init(percent: row.budgetPercent, minPerSecond: row.reserve, windowMs: 10_000),
    hedging: hedging, attemptTimeoutMs: 1_000, random: Ceiling())
  var machine = FetchMachine(hedged: row.hedged, deadlineUs: row.deadlineMs.map { $0 * 1_000 })
  var last = FetchActions()
  for (ms, step) in row.steps {
    let now = ms * 1_000
    switch step {
    case .start: last = machine.start(nowUs: now, policy: &policy)
    case .ended(let attempt, let result):
      last = machine.attemptEnded(attempt, result, nowUs: now, policy: &policy)
    case .retryDue: last = machine.retryDue(nowUs: now, policy: &policy)
    case .hedgeDue: last = machine.hedgeDue(nowUs: now, policy: &policy)
    case .abandoned: last = machine.abandoned()
    }
  }
  return (last, machine.phase)
}

private let failed = AttemptResult.failed(retryable: true)
private let fatal = AttemptResult.failed(retryable: false)

private let rows: [Row] = [
  Row(
    name: "start sends the first attempt", steps: [(0, .start)],
    actions: [.send(.primary, timeoutMs: 1_000)], phase: .attempting(attempt: 0, hedge: .none)),
  Row(
    name: "an answer is delivered", steps: [(0, .start), (500, .ended(.primary, .answered))],
    actions: [.deliver(.answer(from: .primary))], phase: .finished),
  Row(
    name: "a failure is retried after its backoff",
    steps: [(0, .start), (10, .ended(.primary, failed))],
    actions: [.armRetry(afterMs: 100)], phase: .backingOff(attempt: 1)),
  Row(
    name: "the retry is sent when due",
    steps: [(0, .start), (10, .ended(.primary, failed)), (110, .retryDue)],
    actions: [.send(.primary, timeoutMs: 1_000)], phase: .attempting(attempt: 1, hedge: .none)),
  Row(
    name: "the backoff doubles",
    steps: [
      (0, .start), (10, .ended(.primary, failed)), (110, .retryDue),
      (120, .ended(.primary, failed)),
    ],
    actions: [.armRetry(afterMs: 200)], phase: .backingOff(attempt: 2)),
  Row(
    name: "retries used up: the last failure stands",
    steps: [
      (0, .start), (10, .ended(.primary, failed)), (110, .retryDue),
      (120, .ended(.primary, failed)), (320, .retryDue), (330, .ended(.primary, failed)),
    ],
    actions: [.deliver(.failed(.lastAttempt))], phase: .finished),
  Row(
    name: "a failure another attempt would repeat is not retried",
    steps: [(0, .start), (10, .ended(.primary, fatal))],
    actions: [.deliver(.failed(.lastAttempt))], phase: .finished),
  Row(
    name: "the budget refuses: no reserve, no share yet", budgetPercent: 0, reserve: 0,
    steps: [(0, .start), (10, .ended(.primary, failed))],
    actions: [.deliver(.failed(.budgetRefused))], phase: .finished),
  Row(
    name: "a deadline bounds the first attempt's timeout", deadlineMs: 600,
    steps: [(0, .start)],
    actions: [.send(.primary, timeoutMs: 600)], phase: .attempting(attempt: 0, hedge: .none)),
  Row(
    name: "a retry that would end at the deadline is not started", deadlineMs: 110,
    steps: [(0, .start), (10, .ended(.primary, failed))],
    actions: [.deliver(.failed(.deadline))], phase: .finished),
  Row(
    name: "a retry gets only the time left", deadlineMs: 400,
    steps: [(0, .start), (10, .ended(.primary, failed)), (110, .retryDue)],
    actions: [.send(.primary, timeoutMs: 290)], phase: .attempting(attempt: 1, hedge: .none)),
  Row(
    name: "a retry due past the deadline delivers", deadlineMs: 400,
    steps: [(0, .start), (10, .ended(.primary, failed)), (400, .retryDue)],
    actions: [.deliver(.failed(.deadline))], phase: .finished),
  Row(
    name: "started after its deadline", deadlineMs: 0, steps: [(5, .start)],
    actions: [.deliver(.failed(.deadline))], phase: .finished),
  Row(
    name: "hedged: the hedge timer is armed", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start)],
    actions: [.send(.primary, timeoutMs: 1_000), .armHedge(afterMs: 80)],
    phase: .attempting(attempt: 0, hedge: .armed)),
  Row(
    name: "hedged, no delay known yet: no hedge", hedged: true, steps: [(0, .start)],
    actions: [.send(.primary, timeoutMs: 1_000)], phase: .attempting(attempt: 0, hedge: .none)),
  Row(
    name: "the hedge is sent when due", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start), (80, .hedgeDue)],
    actions: [.send(.hedge, timeoutMs: 1_000)], phase: .attempting(attempt: 0, hedge: .inFlight)),
  Row(
    name: "an answer before the hedge is due cancels its timer", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start), (50, .ended(.primary, .answered))],
    actions: [.cancelHedge, .deliver(.answer(from: .primary))], phase: .finished),
  Row(
    name: "the hedge answers first: the attempt is cancelled", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start), (80, .hedgeDue), (90, .ended(.hedge, .answered))],
    actions: [.cancel(.primary), .deliver(.answer(from: .hedge))], phase: .finished),
  Row(
    name: "the attempt answers first: the hedge is cancelled", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start), (80, .hedgeDue), (90, .ended(.primary, .answered))],
    actions: [.cancel(.hedge), .deliver(.answer(from: .primary))], phase: .finished),
  Row(
    name: "the attempt fails while its hedge is out: wait for the hedge", hedged: true,
    hedgeAfterMs: 80, steps: [(0, .start), (80, .hedgeDue), (90, .ended(.primary, failed))],
    actions: [], phase: .hedgeOnly),
  Row(
    name: "then the hedge answers", hedged: true, hedgeAfterMs: 80,
    steps: [
      (0, .start), (80, .hedgeDue), (90, .ended(.primary, failed)),
      (95, .ended(.hedge, .answered)),
    ],
    actions: [.deliver(.answer(from: .hedge))], phase: .finished),
  Row(
    name: "both fail: retried once", hedged: true, hedgeAfterMs: 80,
    steps: [
      (0, .start), (80, .hedgeDue), (90, .ended(.primary, failed)), (95, .ended(.hedge, failed)),
    ],
    actions: [.armRetry(afterMs: 100)], phase: .backingOff(attempt: 1)),
  Row(
    name: "the hedge fails first: the attempt goes on", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start), (80, .hedgeDue), (90, .ended(.hedge, failed))],
    actions: [], phase: .attempting(attempt: 0, hedge: .spent)),
  Row(
    name: "the attempt fails before the hedge is due: timer off, retry", hedged: true,
    hedgeAfterMs: 80, steps: [(0, .start), (10, .ended(.primary, failed))],
    actions: [.cancelHedge, .armRetry(afterMs: 100)], phase: .backingOff(attempt: 1)),
  Row(
    name: "a retry is never hedged", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start), (10, .ended(.primary, failed)), (110, .retryDue), (190, .hedgeDue)],
    actions: [], phase: .attempting(attempt: 1, hedge: .none)),
  Row(
    name: "abandoned in flight with a hedge out", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start), (80, .hedgeDue), (85, .abandoned)],
    actions: [.cancel(.primary), .cancel(.hedge)], phase: .finished),
  Row(
    name: "abandoned with the hedge armed", hedged: true, hedgeAfterMs: 80,
    steps: [(0, .start), (5, .abandoned)],
    actions: [.cancel(.primary), .cancelHedge], phase: .finished),
  Row(
    name: "abandoned while backing off",
    steps: [(0, .start), (10, .ended(.primary, failed)), (20, .abandoned)],
    actions: [.cancelRetry], phase: .finished),
  Row(
    name: "an answer after the end changes nothing",
    steps: [(0, .start), (5, .abandoned), (10, .ended(.primary, .answered))],
    actions: [], phase: .finished),
]

@Suite("FetchMachine (virtual clock)")
struct FetchMachineTests {
  @Test(arguments: rows)
  private func row(_ row: Row) {
    let (actions, phase) = run(row)
    #expect(actions == row.actions)
    #expect(phase == row.phase)
  }

  /// The hedge budget (no reserve) refuses a hedge the fetches have not earned.
  @Test func aHedgeTheBudgetRefuses() {
    var hedging = HedgeSettings()
    hedging.enabled = true
    hedging.afterMs = 80
    hedging.budgetPercent = 0
    var policy = FetchPolicy(
      backoff: RetryBackoff(retries: 0, baseMs: 100, maxMs: 100),
      budget: .init(percent: 20, minPerSecond: 10, windowMs: 10_000), hedging: hedging,
      attemptTimeoutMs: 1_000, random: Ceiling())
    var machine = FetchMachine(hedged: true, deadlineUs: nil)
    _ = machine.start(nowUs: 0, policy: &policy)
    #expect(machine.hedgeDue(nowUs: 80_000, policy: &policy) == [.hedgeRefused])
    #expect(machine.phase == .attempting(attempt: 0, hedge: .spent))
  }

  /// A coalesced request with a later deadline lets the fetch retry longer.
  @Test func aLaterDeadlineExtendsTheFetch() {
    var policy = FetchPolicy(
      backoff: RetryBackoff(retries: 2, baseMs: 100, maxMs: 100),
      budget: .init(percent: 20, minPerSecond: 10, windowMs: 10_000),
      attemptTimeoutMs: 1_000, random: Ceiling())
    var machine = FetchMachine(hedged: false, deadlineUs: 50_000)
    _ = machine.start(nowUs: 0, policy: &policy)
    machine.extendDeadline(to: 500_000)
    let actions = machine.attemptEnded(
      .primary, .failed(retryable: true), nowUs: 10_000, policy: &policy)
    #expect(actions == [.armRetry(afterMs: 100)])
    // No deadline at all wins over any.
    machine.extendDeadline(to: nil)
    #expect(machine.deadlineUs == nil)
  }

  /// Hedge delays follow the running p95 of answered fetches once enough
  /// are timed, never below the minimum.
  @Test func theHedgeDelayFollowsTheP95() {
    var hedging = HedgeSettings()
    hedging.enabled = true
    var policy = FetchPolicy(
      backoff: RetryBackoff(retries: 0, baseMs: 100, maxMs: 100),
      budget: .init(percent: 20, minPerSecond: 10, windowMs: 10_000), hedging: hedging,
      attemptTimeoutMs: 1_000, random: Ceiling())
    for index in 0..<100 {
      var machine = FetchMachine(hedged: true, deadlineUs: nil)
      let start = Int64(index) * 1_000_000
      _ = machine.start(nowUs: start, policy: &policy)
      _ = machine.attemptEnded(.primary, .answered, nowUs: start + 200_000, policy: &policy)
    }
    var machine = FetchMachine(hedged: true, deadlineUs: nil)
    let actions = machine.start(nowUs: 200_000_000, policy: &policy)
    #expect(actions == [.send(.primary, timeoutMs: 1_000), .armHedge(afterMs: 200)])
  }
}
