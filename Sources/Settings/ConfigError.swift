/// A configuration problem: start-up stops with exit status 2 and this one line.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
  public let key: String
  public let problem: String

  public init(key: String, problem: String) {
    self.key = key
    self.problem = problem
  }

  public var description: String { "config error: \(key): \(problem)" }
}
