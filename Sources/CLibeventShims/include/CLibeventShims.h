#ifndef CLIBEVENT_SHIMS_H
#define CLIBEVENT_SHIMS_H

// Shims that need libevent's struct layouts (event2/http_struct.h). They
// live in a C target of their own: with those layouts in the CLibevent
// module, Swift would import every handle as a typed pointer instead of an
// OpaquePointer.

struct evhttp_request;

// Header callback of every upstream request. libevent 2.1 treats only a
// `100` as interim and takes any other 1xx (`102 Processing`, `103 Early
// Hints`) for the final answer, leaving the real answer that follows for
// the next request on the connection. An interim answer's headers are
// dropped and its status becomes the 100 that libevent already skips, so it
// reads on for the final answer (RFC 9110 section 15.2). `101` is left as
// it is: the client fails it and closes the connection.
int CLibeventShims_skip_interim_response(struct evhttp_request *req, void *arg);

struct ssl_ctx_st;

// Turns on peer verification for a client context, with a callback that
// records the first verification error of each connection in the `int` its
// SSL's app data points to (when set). evhttp resets a failed connection
// (`SSL_clear`) before it reports the failure, which forgets
// `SSL_get_verify_result`; the recorded error is what the log line names.
void CLibeventShims_verify_peer(struct ssl_ctx_st *ctx);

struct redisAsyncContext;
struct event_base;

// Attaches a hiredis async context to the loop's event_base (hiredis's
// libevent adapter, whose header is all static functions and would bring
// libevent's declarations into a second Swift module).
int CLibeventShims_redis_attach(struct redisAsyncContext *context, struct event_base *base);

#endif
