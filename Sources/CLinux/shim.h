#ifndef TWINSLOT_CLINUX_SHIM_H
#define TWINSLOT_CLINUX_SHIM_H
/* Linux calls that Glibc's Swift module does not expose (they need _GNU_SOURCE). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sys/file.h>
#include <pthread.h>

static inline int ts_sync_file_range_write(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length; return 0;
#endif
}
/* Names the calling thread (at most 15 bytes on Linux), for ps, top and gdb. */
static inline void ts_set_thread_name(const char *name) {
#ifdef __linux__
    (void)pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}
#endif
