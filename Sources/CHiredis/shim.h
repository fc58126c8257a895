#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H
// hiredis's async API (Debian: libhiredis-dev). Its libevent adapter is
// attached by CLibeventShims_redis_attach, compiled in C: the adapter's
// header would bring libevent's declarations into this module a second time.
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#endif
