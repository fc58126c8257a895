#include "CLibeventShims.h"

#include <sys/queue.h>
#include <sys/types.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>

int CLibeventShims_skip_interim_response(struct evhttp_request *req, void *arg) {
  (void)arg;
  if (req->response_code >= 100 && req->response_code < 200 && req->response_code != 101) {
    evhttp_clear_headers(req->input_headers);
    req->response_code = 100;
  }
  return 0;
}
