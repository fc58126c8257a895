internal import CLibevent
internal import CLibeventShims
import Glibc

/// TLS could not be set up: a CA file, certificate or key that OpenSSL
/// would not load, with its reason.
public struct TLSError: Error, CustomStringConvertible, Equatable {
  public let description: String
}

/// The client side of TLS for one upstream: an OpenSSL context that
/// verifies the peer's chain (against a CA file, or the system's trust
/// store) and name, TLS 1.2 at least, and keeps the latest session so that
/// new connections resume it. There is no way to turn verification off.
public final class TLSClientContext {
  let ctx: OpaquePointer
  /// Sessions the upstream handed out and no connection has offered yet,
  /// newest last (TLS 1.3 sends tickets after the handshake, two per
  /// connection from OpenSSL). A ticket is offered once where possible (RFC
  /// 8446 appendix C.4); with none left, the latest is offered again.
  private var unused: [OpaquePointer] = []
  private var latest: OpaquePointer?
  private static let maxUnused = 64

  /// `caFile`: a PEM bundle of the CAs to trust; nil or empty: the system's.
  public init(caFile: String?) throws(TLSError) {
    guard let ctx = SSL_CTX_new(TLS_client_method()) else {
      throw TLSError(description: "cannot make a TLS context: \(OpenSSLError.take())")
    }
    self.ctx = ctx
    guard CLibevent_tls_ctx_require_tls12(ctx) == 1 else {
      throw TLSError(description: "cannot require TLS 1.2: \(OpenSSLError.take())")
    }
    if let caFile, !caFile.isEmpty {
      guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
        throw TLSError(description: "cannot load CA file \(caFile): \(OpenSSLError.take())")
      }
    } else if SSL_CTX_set_default_verify_paths(ctx) != 1 {
      throw TLSError(description: "cannot use the system trust store: \(OpenSSLError.take())")
    }
    CLibeventShims_verify_peer(ctx)
    CLibevent_tls_ctx_cache_client_sessions(ctx)
    CLibevent_tls_ctx_ignore_unexpected_eof(ctx)
    // AES-128-GCM first: four fewer AES rounds per block than OpenSSL's
    // default preference (AES-256-GCM), at a strength no attack comes near.
    _ = SSL_CTX_set_ciphersuites(
      ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
    // Unretained: cleared in deinit, before the context can be freed.
    _ = CLibevent_tls_ctx_set_app_data(ctx, Unmanaged.passUnretained(self).toOpaque())
    SSL_CTX_sess_set_new_cb(ctx) { ssl, session in
      guard let ssl, let session,
        let owner = CLibevent_tls_ctx_get_app_data(SSL_get_SSL_CTX(ssl))
      else { return 0 }
      Unmanaged<TLSClientContext>.fromOpaque(owner).takeUnretainedValue().keep(session)
      return 1
    }
  }

  deinit {
    _ = CLibevent_tls_ctx_set_app_data(ctx, nil)
    for session in unused { SSL_SESSION_free(session) }
    if let latest { SSL_SESSION_free(latest) }
    SSL_CTX_free(ctx)
  }

  /// Takes the reference OpenSSL handed over.
  private func keep(_ new: OpaquePointer) {
    if unused.count == Self.maxUnused { SSL_SESSION_free(unused.removeFirst()) }
    SSL_SESSION_up_ref(new)
    unused.append(new)
    if let latest { SSL_SESSION_free(latest) }
    latest = new
  }

  /// Sets the session a new connection offers: an unused one, else the latest.
  private func offerSession(on ssl: OpaquePointer) {
    while let session = unused.popLast() {
      // SSL_set_session takes a reference of its own; the list's is let go.
      defer { SSL_SESSION_free(session) }
      if SSL_SESSION_is_resumable(session) == 1 {
        SSL_set_session(ssl, session)
        return
      }
    }
    if let latest { SSL_set_session(ssl, latest) }
  }

  /// A connection's OpenSSL object, set to verify `host` (a name, with
  /// SNI, or an IP address) and to resume the latest session. `verifyError`
  /// receives the first verification error.
  func makeSSL(host: String, verifyError: UnsafeMutablePointer<Int32>) -> OpaquePointer? {
    guard let ssl = SSL_new(ctx) else { return nil }
    let configured: Bool
    if IPAddress.isNumeric(host) {
      configured = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1
    } else {
      SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
      configured = SSL_set1_host(ssl, host) == 1 && CLibevent_tls_set_sni(ssl, host) == 1
    }
    guard configured else {
      SSL_free(ssl)
      return nil
    }
    offerSession(on: ssl)
    _ = CLibevent_tls_set_app_data(ssl, verifyError)
    return ssl
  }
}

/// The server side of TLS (the mock's): a certificate chain and its key.
public final class TLSServerContext {
  let ctx: OpaquePointer

  /// `resumption` false: every handshake is a full one (for measuring it).
  public init(certificateFile: String, keyFile: String, resumption: Bool = true) throws(TLSError) {
    guard let ctx = SSL_CTX_new(TLS_server_method()) else {
      throw TLSError(description: "cannot make a TLS context: \(OpenSSLError.take())")
    }
    self.ctx = ctx
    guard CLibevent_tls_ctx_require_tls12(ctx) == 1 else {
      throw TLSError(description: "cannot require TLS 1.2: \(OpenSSLError.take())")
    }
    guard SSL_CTX_use_certificate_chain_file(ctx, certificateFile) == 1 else {
      throw TLSError(
        description: "cannot load certificate \(certificateFile): \(OpenSSLError.take())")
    }
    guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
      throw TLSError(description: "cannot load key \(keyFile): \(OpenSSLError.take())")
    }
    guard SSL_CTX_check_private_key(ctx) == 1 else {
      throw TLSError(
        description: "key \(keyFile) does not match certificate \(certificateFile)")
    }
    if !resumption { CLibevent_tls_ctx_no_resumption(ctx) }
  }

  deinit { SSL_CTX_free(ctx) }

  /// The bufferevent of an accepted connection: it does the handshake
  /// before evhttp reads a byte.
  func makeBufferevent(base: OpaquePointer?) -> OpaquePointer? {
    guard let ssl = SSL_new(ctx) else { return nil }
    guard
      let bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue))
    else {
      SSL_free(ssl)
      return nil
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1)
    return bev
  }
}

/// OpenSSL's error queue as text.
enum OpenSSLError {
  /// The oldest error on this thread's queue (the queue is cleared).
  static func take() -> String {
    let code = ERR_get_error()
    ERR_clear_error()
    return code == 0 ? "no reason given" : text(code)
  }

  /// `certificate verify failed`, or the code when OpenSSL has no text.
  static func text(_ code: UInt) -> String {
    if let reason = ERR_reason_error_string(code) { return String(cString: reason) }
    return "OpenSSL error \(code)"
  }

  /// `unable to get local issuer certificate`.
  static func verifyText(_ code: Int32) -> String {
    String(cString: X509_verify_cert_error_string(Int(code)))
  }
}

enum IPAddress {
  static func isNumeric(_ host: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
  }
}
