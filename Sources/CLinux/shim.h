#ifndef TWINSLOT_CLINUX_SHIM_H
#define TWINSLOT_CLINUX_SHIM_H
/* Linux calls that Glibc's Swift module does not expose (they need _GNU_SOURCE). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <errno.h>
#ifdef __linux__
#include <asm/unistd.h>
/* Declared here rather than through <unistd.h>, <sys/fsuid.h> and <sys/syscall.h>: under
 * _GNU_SOURCE those bring a <sys/select.h> whose fd_set differs from the one in Glibc's module. */
extern int setfsuid(unsigned int uid);
extern int setfsgid(unsigned int gid);
extern long syscall(long number, ...);
extern int getgroups(int size, unsigned int list[]);
extern int close(int fd);
#endif

static inline int ts_sync_file_range_write(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length; return 0;
#endif
}
/* Makes dst share src's extents, copy-on-write (FICLONE: btrfs, XFS with reflink, bcachefs);
 * -1 with errno EOPNOTSUPP, EXDEV or EINVAL where the file system cannot. */
static inline int ts_clone_file(int dst, int src) {
#ifdef __linux__
#ifndef FICLONE
#define FICLONE _IOW(0x94, 9, int)
#endif
    return ioctl(dst, FICLONE, src);
#else
    (void)dst; (void)src; errno = EOPNOTSUPP; return -1;
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
/* Opens `path` for reading with the file-system identity of another user (uid, gid, and no
 * supplementary groups), on the calling thread only: the kernel checks every directory and the
 * file against that user, as if they had opened it. The fs ids and the groups are per thread in
 * the kernel; the raw setgroups call (glibc's wrapper would change every thread) and setfsuid
 * leave the other threads of the process alone, and all of it is restored before returning.
 * Returns the descriptor, or -1 with errno (EACCES: that user may not read it). */
static inline int ts_open_as_user(const char *path, unsigned uid, unsigned gid) {
#ifdef __linux__
    unsigned int groups[256];
    int count = getgroups(256, groups);
    if (count < 0) return -1;
    if (syscall(__NR_setgroups, 0, (unsigned int *)0) != 0) return -1;
    int old_gid = setfsgid(gid);
    int old_uid = setfsuid(uid);
    int fd = -1, error = EPERM;
    /* setfsuid reports only the previous value: a second call tells whether the first took. */
    if ((unsigned)setfsuid(uid) == uid && (unsigned)setfsgid(gid) == gid) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        error = errno;
    }
    setfsuid((unsigned int)old_uid);
    setfsgid((unsigned int)old_gid);
    if (syscall(__NR_setgroups, count, groups) != 0) {
        /* The thread could not get its groups back: never leave it half-privileged. */
        if (fd >= 0) close(fd);
        return -1;
    }
    errno = error;
    return fd;
#else
    (void)path; (void)uid; (void)gid; errno = ENOSYS; return -1;
#endif
}
#endif
