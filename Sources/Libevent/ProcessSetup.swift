internal import CLibevent
import Glibc

/// The process-wide settings libevent needs, made by the executable (and the
/// test harnesses) as one visible call rather than as a side effect of
/// creating a loop:
///
/// - SIGPIPE is ignored: libevent writes with plain `write`, and a peer that
///   closed its end would otherwise kill the process;
/// - libevent's own messages go to stderr as log lines in the service's
///   shape (warnings and errors; debug chatter is dropped);
/// - a fatal libevent error is logged before the process aborts.
///
/// Call it before the first `EventLoop`; calling it again does nothing.
public enum ProcessSetup {
  public static func install() { _ = installOnce }

  private static let installOnce: Void = {
    signal(SIGPIPE, SIG_IGN)
    event_set_log_callback { severity, message in
      guard let message, severity >= EVENT_LOG_WARN else { return }
      let level = severity >= EVENT_LOG_ERR ? "error" : "warning"
      writeLine("level=\(level) component=libevent msg=\"\(String(cString: message))\"")
    }
    event_set_fatal_callback { error in
      writeLine("level=critical component=libevent msg=\"fatal error\" errno=\(error)")
      abort()
    }
  }()

  private static func writeLine(_ line: String) {
    (line + "\n").withCString { _ = write(2, $0, strlen($0)) }
  }
}
