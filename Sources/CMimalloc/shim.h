// mimalloc replaces malloc for the whole event-service process (libevent's
// allocations included) simply by being linked: its shared library defines
// malloc and free ahead of libc's.
#include <mimalloc.h>
