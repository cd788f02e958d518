#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim_log.h"

int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fail_step(const char *dir_path, const char *name, const char *step, int err)
{
    shim_log("%s/%s: %s: %s", dir_path, name, step, strerror(err));
    errno = err;
    return -1;
}

int atomic_write_at(int dir_fd, const char *dir_path, const char *name,
                    const char *data, size_t len, bool durable)
{
    char tmp[256];
    int fd, err;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", name) >= (int)sizeof tmp)
        return fail_step(dir_path, name, "temp name", ENAMETOOLONG);

    fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return fail_step(dir_path, tmp, "open", errno);
    if (write_all(fd, data, len) != 0 || (durable && fsync(fd) != 0)) {
        err = errno;
        close(fd);
        unlinkat(dir_fd, tmp, 0);
        return fail_step(dir_path, tmp, "write+fsync", err);
    }
    if (close(fd) != 0) {
        err = errno;
        unlinkat(dir_fd, tmp, 0);
        return fail_step(dir_path, tmp, "close", err);
    }
    if (renameat(dir_fd, tmp, dir_fd, name) != 0) {
        err = errno;
        unlinkat(dir_fd, tmp, 0);
        return fail_step(dir_path, name, "rename", err);
    }
    if (durable && fsync(dir_fd) != 0)
        return fail_step(dir_path, ".", "fsync dir", errno);
    return 0;
}

static ssize_t read_bounded(int fd, char *buf, size_t cap)
{
    size_t got = 0;

    while (got < cap - 1) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

ssize_t read_small_file_at(int dir_fd, const char *name, char *buf, size_t cap)
{
    /* O_NONBLOCK: a FIFO planted under that name must not hang the shim. */
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -1;
    ssize_t n = read_bounded(fd, buf, cap);
    int err = errno;
    close(fd);
    errno = err;
    return n;
}

ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
    return read_small_file_at(AT_FDCWD, path, buf, cap);
}

ssize_t read_first_line_at(int dir_fd, const char *name, char *buf, size_t cap)
{
    ssize_t n = read_small_file_at(dir_fd, name, buf, cap);
    if (n < 0)
        return -1;
    char *nl = memchr(buf, '\n', (size_t)n);
    if (nl) {
        *nl = '\0';
        n = nl - buf;
    }
    return n;
}
