import MiniJSON
import ServiceAssembly

/// The parts of `--help` and `--check-config` built from the one list of
/// configuration keys, so they cannot drift from what the service reads.
enum HelpText {
  static var discussion: String {
    let keys = AssemblyConfig.defaults
    let width = max(keys.map(\.key.count).max() ?? 0, 26) + 2
    var text = """
      CONFIGURATION
        Read from ./config.json, or from --config PATH. A missing ./config.json
        means all defaults. Every key can be overridden by the environment
        variable of the same name (PORT=4000 event-service). The MOCK.* keys are
        set together as JSON, for example MOCK='{"PORT": 3101, "ERROR_RATE": 0}'.
      """
    text += "\n\n  " + "KEY = ENVIRONMENT VARIABLE".padding(width) + "DEFAULT\n"
    for (key, value) in keys {
      text += "  " + key.padding(width) + value.serialized + "\n"
    }
    text += """

      EXIT STATUS
        0  stopped cleanly after SIGTERM or SIGINT (requests in flight finish
           first, for at most SHUTDOWN_GRACE_MS), or --check-config found no
           problem
        1  could not start (for example, the address is in use)
        2  bad configuration: one line on stderr names the key and the problem
        64 bad command line (an unknown option, a missing value)

      SHELL COMPLETION
        event-service --generate-completion-script bash|zsh|fish
      """
    return text
  }

  /// The effective configuration in `config.json`'s own shape, one key per line.
  static func configDocument(_ effective: [(key: String, value: JSONValue)]) -> String {
    let top = effective.filter { !$0.key.hasPrefix("MOCK.") }
    let mock = effective.filter { $0.key.hasPrefix("MOCK.") }.map {
      (String($0.key.dropFirst("MOCK.".count)), $0.value)
    }
    var lines = top.map { "  \(quoted($0.key)): \($0.value.serialized)" }
    if !mock.isEmpty {
      let members = mock.map { "    \(quoted($0.0)): \($0.1.serialized)" }
      lines.append("  \"MOCK\": {\n" + members.joined(separator: ",\n") + "\n  }")
    }
    return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
  }

  private static func quoted(_ key: String) -> String { JSONValue.string(key).serialized }
}

extension String {
  fileprivate func padding(_ width: Int) -> String {
    count >= width ? self + " " : self + String(repeating: " ", count: width - count)
  }
}
