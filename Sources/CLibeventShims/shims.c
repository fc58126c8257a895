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
