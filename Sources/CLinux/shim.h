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
/* Waits until a range's dirty pages reached the device (it does not flush the device's cache:
 * fsync does), so that reading it back after dropping its cached pages reads the medium. */
static inline int ts_sync_file_range_wait(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, offset, length,
                           SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
#else
    (void)fd; (void)offset; (void)length; return 0;
#endif
}
#endif

