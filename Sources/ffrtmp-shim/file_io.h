/*
 * File I/O with the durability and size rules the shim relies on: records
 * other processes watch are replaced atomically, and files we read from
 * cgroupfs, /proc or the job dir are small and read in one bounded go.
 */
#ifndef FFRTMP_SHIM_FILE_IO_H
#define FFRTMP_SHIM_FILE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Writes NAME in the directory DIR_FD (named DIR_PATH in log lines) by way of
 * NAME.tmp + rename, so a reader sees the old file or the whole new one,
 * never a prefix. With durable, the data and the rename are fsynced so they
 * survive power loss (exit.json); pid files describe live processes, which a
 * power loss ends anyway, so they skip the fsyncs (0.2-1 ms each here).
 * Logs the failing step with the path; returns 0 or -1 with errno set.
 */
int atomic_write_at(int dir_fd, const char *dir_path, const char *name,
                    const char *data, size_t len, bool durable);

/*
 * Reads at most cap-1 bytes of NAME (relative to DIR_FD, or AT_FDCWD),
 * NUL-terminated. Returns the length or -1 with errno set.
 */
ssize_t read_small_file_at(int dir_fd, const char *name, char *buf, size_t cap);
ssize_t read_small_file(const char *path, char *buf, size_t cap);

/*
 * Reads the first line of NAME in DIR_FD, at most cap-1 bytes, without its
 * newline (a longer line is cut at cap-1). Returns length or -1 with errno
 * (ENOENT when the file is simply absent).
 */
ssize_t read_first_line_at(int dir_fd, const char *name, char *buf, size_t cap);

/* write() until done; EINTR is retried. Returns 0 or -1 with errno. */
int write_all(int fd, const char *data, size_t len);

#endif
