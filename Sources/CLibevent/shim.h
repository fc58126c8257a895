#ifndef CLIBEVENT_SHIM_H
#define CLIBEVENT_SHIM_H

// System headers come first: event2/event-config.h defines _GNU_SOURCE, and if
// glibc's headers are first seen after it, fd_set differs from SwiftGlibc's and
// a clean build fails (docs/libevent-boundary.md).
#include <sys/types.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/dns.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <event2/bufferevent_ssl.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// Arms `ev` to fire once after `ms` milliseconds (evtimer_add is a macro).
static inline int CLibevent_event_add_ms(struct event *ev, int64_t ms) {
  struct timeval tv;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
  return event_add(ev, &tv);
}

// The local port of a bound evhttp socket (needed for PORT=0).
static inline int CLibevent_bound_port(struct evhttp_bound_socket *handle) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  evutil_socket_t fd = evhttp_bound_socket_get_fd(handle);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return -1;
}

// Everything a resolv.conf can set, and the hosts file (a macro of macros).
static const int CLibevent_dns_options_all = DNS_OPTIONS_ALL;

// OpenSSL's macros, as functions Swift can call.

// TLS 1.2 at least.
static inline int CLibevent_tls_ctx_require_tls12(SSL_CTX *ctx) {
  return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

// Client sessions are handed to the new-session callback, which keeps them;
// OpenSSL's own cache (keyed for servers) is not used.
static inline void CLibevent_tls_ctx_cache_client_sessions(SSL_CTX *ctx) {
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
}

// An end of stream without close_notify reads as a clean close, not a fatal
// error: OpenSSL 3 otherwise marks the connection's session (the one new
// connections offer) as not resumable. HTTP frames its own messages.
static inline void CLibevent_tls_ctx_ignore_unexpected_eof(SSL_CTX *ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

// A server that resumes no session: no tickets, no session cache.
static inline void CLibevent_tls_ctx_no_resumption(SSL_CTX *ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}

static inline int CLibevent_tls_ctx_set_app_data(SSL_CTX *ctx, void *data) {
  return SSL_CTX_set_app_data(ctx, data);
}

static inline void *CLibevent_tls_ctx_get_app_data(const SSL_CTX *ctx) {
  return SSL_CTX_get_app_data(ctx);
}

static inline int CLibevent_tls_set_app_data(SSL *ssl, void *data) {
  return SSL_set_app_data(ssl, data);
}

// Server Name Indication.
static inline int CLibevent_tls_set_sni(SSL *ssl, const char *name) {
  return (int)SSL_set_tlsext_host_name(ssl, name);
}

#endif
