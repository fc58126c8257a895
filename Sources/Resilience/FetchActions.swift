/// Which of a fetch's two requests: the attempt itself, or its hedge (a
/// second request for the same thing, sent when the first is late).
public enum FetchAttempt: Sendable, Equatable {
  case primary, hedge
}

/// How an attempt ended, as far as the fetch is concerned.
public enum AttemptResult: Sendable, Equatable {
  /// A 2xx with the expected body, or a 4xx: the fetch's result.
  case answered
  /// Anything else; `retryable` when another attempt could end otherwise.
  case failed(retryable: Bool)
}

/// Why a fetch gave up.
public enum FetchGiveUp: String, Sendable, Equatable {
  /// The last attempt failed and none follows: retries used up, or a
  /// failure that another attempt would repeat. Its own cause stands.
  case lastAttempt = "last_attempt"
  /// The retry budget refused the retry.
  case budgetRefused = "budget_refused"
  /// The retry would end after the request's deadline.
  case deadline
}

/// How a fetch ended: the answer of one of its requests, or a failure.
public enum FetchEnd: Sendable, Equatable {
  case answer(from: FetchAttempt)
  case failed(FetchGiveUp)
}

/// What the driver of a `FetchMachine` does, in order.
public enum FetchAction: Sendable, Equatable {
  /// Send a request, with its own deadline.
  case send(FetchAttempt, timeoutMs: Int64)
  /// Call off a request in flight.
  case cancel(FetchAttempt)
  case armRetry(afterMs: Int64)
  case cancelRetry
  case armHedge(afterMs: Int64)
  case cancelHedge
  /// The hedge was due and the hedge budget refused it.
  case hedgeRefused
  /// Hand the result to everyone waiting.
  case deliver(FetchEnd)
}

/// At most three actions, kept inline: a fetch handles two or three events
/// per request of a fan-out, and an array would allocate for each.
public struct FetchActions: Sendable, Equatable, Sequence, ExpressibleByArrayLiteral {
  private var first: FetchAction?
  private var second: FetchAction?
  private var third: FetchAction?

  public init() {}

  public init(arrayLiteral elements: FetchAction...) {
    for element in elements { append(element) }
  }

  mutating func append(_ action: FetchAction) {
    if first == nil {
      first = action
    } else if second == nil {
      second = action
    } else {
      precondition(third == nil, "a fetch event yields at most three actions")
      third = action
    }
  }

  public var isEmpty: Bool { first == nil }

  public func makeIterator() -> IndexingIterator<[FetchAction]> {
    [first, second, third].compactMap { $0 }.makeIterator()
  }

  /// Runs `body` for each action without building an array.
  public func forEach(_ body: (FetchAction) -> Void) {
    if let first { body(first) }
    if let second { body(second) }
    if let third { body(third) }
  }
}
