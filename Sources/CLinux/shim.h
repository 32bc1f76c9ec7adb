#ifndef TWINSLOT_CLINUX_SHIM_H
#define TWINSLOT_CLINUX_SHIM_H
/* Linux calls that Glibc's Swift module does not expose (they need _GNU_SOURCE). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sys/file.h>

static inline int ts_sync_file_range_write(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length; return 0;
#endif
}
#endif
