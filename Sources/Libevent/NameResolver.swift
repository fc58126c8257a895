internal import CLibevent
import Glibc

/// Resolves host names on the loop with evdns (never a blocking
/// `getaddrinfo`), reading its nameservers and options from a resolv.conf
/// and names from the hosts file first. Every address is returned, in the
/// resolver's order, as numeric text.
final class NameResolver {
  private let dns: OpaquePointer

  init(loop: EventLoop, resolvConf: String) {
    // Inactive: it does not keep the loop running when nothing is asked.
    dns = evdns_base_new(loop.base, EVDNS_BASE_DISABLE_WHEN_INACTIVE)
    // Also reads the hosts file. A missing file leaves evdns' defaults
    // (a nameserver on 127.0.0.1).
    _ = evdns_base_resolv_conf_parse(dns, CLibevent_dns_options_all, resolvConf)
  }

  deinit {
    // Lookups still pending get their callback (cancelled), which releases them.
    evdns_base_free(dns, 1)
  }

  /// Resolves `host`; `done` runs once, on the loop — unless the lookup is
  /// cancelled first.
  func resolve(_ host: String, _ done: @escaping (Result<[String], ClientFailure>) -> Void)
    -> Lookup
  {
    let lookup = Lookup(host: host, done: done)
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_protocol = Int32(IPPROTO_TCP)
    // Retained until the callback, which evdns runs exactly once: now (a
    // numeric or hosts-file answer, an error) or later (an answer, a
    // failure, a cancel, the resolver freed).
    let arg = Unmanaged.passRetained(lookup).toOpaque()
    lookup.request = evdns_getaddrinfo(
      dns, host, nil, &hints,
      { result, list, arg in
        let lookup = Unmanaged<Lookup>.fromOpaque(arg!).takeRetainedValue()
        lookup.request = nil
        let outcome = Lookup.outcome(result, list, host: lookup.host)
        if let list { evutil_freeaddrinfo(list) }
        lookup.finish(outcome)
      }, arg)
    return lookup
  }

  /// One lookup in progress.
  final class Lookup {
    let host: String
    fileprivate var request: OpaquePointer?
    private var done: ((Result<[String], ClientFailure>) -> Void)?

    fileprivate init(host: String, done: @escaping (Result<[String], ClientFailure>) -> Void) {
      self.host = host
      self.done = done
    }

    /// Still waiting for evdns: false once answered (an answer from the
    /// hosts file, or an error, comes before `resolve` returns).
    var isPending: Bool { done != nil }

    /// `done` will not run.
    func cancel() {
      done = nil
      if let request {
        self.request = nil
        evdns_getaddrinfo_cancel(request)
      }
    }

    fileprivate func finish(_ outcome: Result<[String], ClientFailure>) {
      let done = self.done
      self.done = nil
      done?(outcome)
    }

    fileprivate static func outcome(
      _ result: Int32, _ list: UnsafeMutablePointer<addrinfo>?, host: String
    ) -> Result<[String], ClientFailure> {
      guard result == 0 else {
        let reason = String(cString: evutil_gai_strerror(result))
        return .failure(.dns("\(host): \(reason)"))
      }
      var addresses: [String] = []
      var next = list
      while let entry = next?.pointee {
        next = entry.ai_next
        if let text = numericText(entry.ai_addr), !addresses.contains(text) {
          addresses.append(text)
        }
      }
      return addresses.isEmpty ? .failure(.dns("\(host): no address")) : .success(addresses)
    }

    private static func numericText(_ address: UnsafeMutablePointer<sockaddr>?) -> String? {
      guard let address else { return nil }
      var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
      let written: UnsafePointer<CChar>?
      switch Int32(address.pointee.sa_family) {
      case AF_INET:
        written = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
          evutil_inet_ntop(AF_INET, &$0.pointee.sin_addr, &text, text.count)
        }
      case AF_INET6:
        written = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
          evutil_inet_ntop(AF_INET6, &$0.pointee.sin6_addr, &text, text.count)
        }
      default: return nil
      }
      return written.map { String(cString: $0) }
    }
  }
}
