#include "CLibeventShims.h"

#include <sys/queue.h>
#include <sys/types.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

int CLibeventShims_skip_interim_response(struct evhttp_request *req, void *arg) {
  (void)arg;
  if (req->response_code >= 100 && req->response_code < 200 && req->response_code != 101) {
    evhttp_clear_headers(req->input_headers);
    req->response_code = 100;
  }
  return 0;
}

static int record_verify_error(int ok, X509_STORE_CTX *store) {
  if (!ok) {
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    int *slot = ssl ? SSL_get_app_data(ssl) : NULL;
    if (slot && *slot == 0) *slot = X509_STORE_CTX_get_error(store);
  }
  return ok;
}

void CLibeventShims_verify_peer(struct ssl_ctx_st *ctx) {
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, record_verify_error);
}

// --- evbuffer_add_printf without printf -------------------------------------
//
// evhttp writes every request line, status line and header with
// evbuffer_add_printf, and glibc's vfprintf was, with a few headers a
// request, the largest single cost of proxying one (docs/performance.md).
// This definition takes the place of libevent's own (libevent calls it
// through its PLT, so the executable's definition wins). The three formats
// evhttp uses for every message are assembled with memcpy into space
// reserved in the buffer; any other format goes to libevent's
// evbuffer_add_vprintf, unchanged. Same bytes, same return value (the
// number of bytes added, or -1).

#include <stdarg.h>
#include <string.h>
#include <event2/buffer.h>

struct piece {
  const char *bytes;
  size_t length;
};

static int add_pieces(struct evbuffer *buf, const struct piece *pieces, int count) {
  size_t total = 0;
  for (int i = 0; i < count; i++) total += pieces[i].length;
  struct evbuffer_iovec space;
  if (evbuffer_reserve_space(buf, (ev_ssize_t)total, &space, 1) != 1 || space.iov_len < total)
    return -1;
  char *at = space.iov_base;
  for (int i = 0; i < count; i++) {
    memcpy(at, pieces[i].bytes, pieces[i].length);
    at += pieces[i].length;
  }
  space.iov_len = total;
  if (evbuffer_commit_space(buf, &space, 1) != 0) return -1;
  return (int)total;
}

// "1.1": an HTTP version of single digits, which is all evhttp speaks.
static int version(char out[3], int major, int minor) {
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return 0;
  out[0] = (char)('0' + major);
  out[1] = '.';
  out[2] = (char)('0' + minor);
  return 1;
}

int evbuffer_add_printf(struct evbuffer *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int result = -2;
  if (strcmp(fmt, "%s: %s\r\n") == 0) {
    const char *key = va_arg(ap, const char *);
    const char *value = va_arg(ap, const char *);
    struct piece pieces[] = {{key, strlen(key)}, {": ", 2}, {value, strlen(value)}, {"\r\n", 2}};
    result = add_pieces(buf, pieces, 4);
  } else if (strcmp(fmt, "%s %s HTTP/%d.%d\r\n") == 0) {
    va_list copy;
    va_copy(copy, ap);
    const char *method = va_arg(copy, const char *);
    const char *uri = va_arg(copy, const char *);
    int major = va_arg(copy, int);
    int minor = va_arg(copy, int);
    va_end(copy);
    char digits[3];
    if (version(digits, major, minor)) {
      struct piece pieces[] = {{method, strlen(method)}, {" ", 1}, {uri, strlen(uri)},
                               {" HTTP/", 6}, {digits, 3}, {"\r\n", 2}};
      result = add_pieces(buf, pieces, 6);
    }
  } else if (strcmp(fmt, "HTTP/%d.%d %d %s\r\n") == 0) {
    va_list copy;
    va_copy(copy, ap);
    int major = va_arg(copy, int);
    int minor = va_arg(copy, int);
    int code = va_arg(copy, int);
    const char *reason = va_arg(copy, const char *);
    va_end(copy);
    char digits[3];
    if (code >= 100 && code <= 999 && version(digits, major, minor)) {
      char status[5] = {' ', (char)('0' + code / 100), (char)('0' + code / 10 % 10),
                        (char)('0' + code % 10), ' '};
      struct piece pieces[] = {{"HTTP/", 5}, {digits, 3}, {status, 5},
                               {reason, strlen(reason)}, {"\r\n", 2}};
      result = add_pieces(buf, pieces, 5);
    }
  }
  if (result == -2) result = evbuffer_add_vprintf(buf, fmt, ap);
  va_end(ap);
  return result;
}

// --- evutil_ascii_strcasecmp without a table call per byte -------------------
//
// evhttp finds every header it looks at (Connection, Content-Length,
// Transfer-Encoding, Date, ...) with a linear scan that compares names
// with this function: some 36 comparisons a proxied request. libevent's
// lowers each byte through a table lookup in a function of its own; this
// one, in libevent's place for the same reason as above, compares bytes
// and lowers only where they differ. Same result: ASCII letters only, the
// sign of the first difference.
int evutil_ascii_strcasecmp(const char *s1, const char *s2) {
  const unsigned char *a = (const unsigned char *)s1;
  const unsigned char *b = (const unsigned char *)s2;
  for (;; a++, b++) {
    unsigned char x = *a, y = *b;
    if (x != y) {
      if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
      if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
      if (x != y) return x < y ? -1 : 1;
    }
    if (x == 0) return 0;
  }
}

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

int CLibeventShims_redis_attach(struct redisAsyncContext *context, struct event_base *base) {
  return redisLibeventAttach(context, base);
}
