import Glibc

/// The process environment as a dictionary, without Foundation.
public enum ProcessEnvironment {
  public static var variables: [String: String] {
    var result: [String: String] = [:]
    var cursor = environ
    while let entry = cursor.pointee {
      let text = String(cString: entry)
      if let equals = text.firstIndex(of: "=") {
        result[String(text[..<equals])] = String(text[text.index(after: equals)...])
      }
      cursor += 1
    }
    return result
  }
}

/// One line to stderr (start-up errors, before logging exists).
public enum FileHandleStandardError {
  public static func writeLine(_ text: String) {
    let line = text + "\n"
    line.withCString { _ = write(2, $0, strlen($0)) }
  }
}
