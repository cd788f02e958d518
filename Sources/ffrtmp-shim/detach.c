#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "detach.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "file_io.h"
#include "proc_stat.h"
#include "shim_log.h"
#include "signals.h"

/*
 * A caller may start us with 0, 1 or 2 closed. Fill the holes first, or the
 * next open() (shim.log, a cgroup.procs fd) would land on 0..2 and later be
 * clobbered by the dup2 that points stdio at /dev/null.
 */
static void fill_stdio_holes(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int nfd = open("/dev/null", O_RDWR);
            if (nfd > fd)
                close(nfd); /* not reached: lower holes were filled first */
        }
    }
}

/* The sync fd must survive close_range and must not leak into the workload. */
static void keep_sync_fd(struct shim_options *opts)
{
    if (opts->sync_fd < 0)
        return;
    if (opts->sync_fd <= 2) {
        int moved = fcntl(opts->sync_fd, F_DUPFD_CLOEXEC, 3);
        if (moved < 0) {
            shim_log("--sync-fd %d: cannot move it above stdio: %s", opts->sync_fd, strerror(errno));
            opts->sync_fd = -1;
            return;
        }
        opts->sync_fd = moved;
    } else if (fcntl(opts->sync_fd, F_SETFD, FD_CLOEXEC) < 0) {
        shim_log("--sync-fd %d: F_SETFD: %s", opts->sync_fd, strerror(errno));
    }
}

/*
 * An inherited fd (a caller's socket, the write end of a pipe someone waits
 * on for EOF) would otherwise live as long as the job does. KEEP (the sync fd
 * and every --pass-fd) survive; any order, -1 entries ignored.
 */
static void close_inherited_fds(const int *keep, int n_keep)
{
    int sorted[SHIM_MAX_PASS_FDS + 1];
    int n = 0, rc = 0;
    unsigned from = 3;

    for (int i = 0; i < n_keep; i++) {
        if (keep[i] < 3)
            continue;
        int j = n++;
        while (j > 0 && sorted[j - 1] > keep[i]) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = keep[i];
    }
    for (int i = 0; i < n && rc == 0; i++) {
        if ((unsigned)sorted[i] > from)
            rc = close_range(from, (unsigned)sorted[i] - 1, 0);
        from = (unsigned)sorted[i] + 1;
    }
    if (rc == 0)
        rc = close_range(from, ~0U, 0);
    if (rc == 0)
        return;

    /* close_range arrived in Linux 5.9; older kernels get the slow loop. */
    struct rlimit rl;
    long max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < max)
        max = (long)rl.rlim_cur;
    for (int fd = 3; fd < max; fd++) {
        bool kept = false;
        for (int i = 0; i < n; i++)
            kept = kept || sorted[i] == fd;
        if (!kept)
            close(fd);
    }
}

/*
 * Once stderr is shim.log, every later diagnostic (ours and glibc's) lands in
 * the job dir, where the operator looks, instead of on a terminal that may be gone.
 */
static int redirect_stdio(int log_fd)
{
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (null_fd < 0) {
        shim_log("/dev/null: open: %s", strerror(errno));
        return -1;
    }
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0) {
        int err = errno;
        shim_log("redirecting stdio: dup2: %s", strerror(err));
        close(null_fd);
        errno = err;
        return -1;
    }
    close(null_fd);
    return 0;
}

static int write_shim_pid(const struct shim_options *opts, struct job *job)
{
    unsigned long long start;
    char line[64];
    int len;

    if (proc_start_time(0, &start) != 0) {
        shim_log("/proc/self/stat: start time: %s", strerror(errno));
        return -1;
    }
    len = snprintf(line, sizeof line, "%d %llu\n", (int)getpid(), start);
    return atomic_write_at(job->dir_fd, opts->job_dir, "shim.pid", line, (size_t)len, false);
}

void detach_from_caller(struct shim_options *opts, struct job *job)
{
    int log_fd;

    fill_stdio_holes();
    keep_sync_fd(opts);
    int keep[SHIM_MAX_PASS_FDS + 1];
    for (int i = 0; i < opts->n_pass_fds; i++)
        keep[i] = opts->pass_fds[i];
    keep[opts->n_pass_fds] = opts->sync_fd;
    close_inherited_fds(keep, opts->n_pass_fds + 1);
    set_disposition(SIGPIPE, SIG_IGN);
    set_disposition(SIGHUP, SIG_IGN);

    /* O_NOFOLLOW: a job dir that is a symlink is refused, never written through. */
    job->dir_fd = open(opts->job_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (job->dir_fd < 0) {
        shim_log("--job-dir %s: open: %s", opts->job_dir, strerror(errno));
        job_fail(job, STAGE_OPEN, errno);
        return;
    }
    log_fd = openat(job->dir_fd, "shim.log", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (log_fd < 0) {
        shim_log("%s/shim.log: open: %s", opts->job_dir, strerror(errno));
        job_fail(job, STAGE_OPEN, errno);
        return;
    }

    if (redirect_stdio(log_fd) != 0) {
        job_fail(job, STAGE_OPEN, errno);
        close(log_fd);
        return;
    }
    close(log_fd);

    /*
     * Callers normally spawn us with POSIX_SPAWN_SETSID, which makes this a
     * no-op. A caller that used SETPGROUP instead made us a group leader, and
     * setsid() then fails with EPERM; we stay in its session, which is safe
     * because SIGHUP is ignored and stdio no longer touches its terminal.
     * It comes after the redirect so that failure lands in shim.log.
     */
    if (getsid(0) != getpid() && setsid() < 0)
        shim_log("setsid: %s (staying in the caller's session)", strerror(errno));

    if (write_shim_pid(opts, job) != 0)
        job_fail(job, STAGE_OPEN, errno);
}
