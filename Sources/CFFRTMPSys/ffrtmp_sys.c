#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ffrtmp_sys.h"
#include "ffrtmp_identity.h"
#include <errno.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int ffrtmp_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int ffrtmp_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int ffrtmp_pidfd_wait(int pidfd, int timeout_ms) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do { r = poll(&p, 1, timeout_ms); } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    return r > 0 ? 1 : 0;
}

static void control_set(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGQUIT);
}

int ffrtmp_block_control_signals(void) {
    sigset_t set;
    control_set(&set);
    return sigprocmask(SIG_BLOCK, &set, NULL);
}

int ffrtmp_signalfd_for_control_signals(void) {
    sigset_t set;
    control_set(&set);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int ffrtmp_signalfd_read(int fd) {
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof si);
    if (n == (ssize_t)sizeof si) return (int)si.ssi_signo;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    return -1;
}

int ffrtmp_poll_readable(const int *fds, int n, int *ready, int timeout_ms) {
    struct pollfd p[8];
    if (n > 8) n = 8;
    for (int i = 0; i < n; i++) { p[i].fd = fds[i]; p[i].events = POLLIN; p[i].revents = 0; }
    int r;
    do { r = poll(p, (nfds_t)n, timeout_ms); } while (r < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) ready[i] = (p[i].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
    return r;
}

// Both spawns: default signal mask and dispositions in the child, then posix_spawn; the
// file actions are the caller's and are destroyed here.
static pid_t spawn_with(const char *path, char *const argv[], char *const envp[], posix_spawn_file_actions_t *fa, short flags) {
    posix_spawnattr_t at;
    sigset_t empty, all;
    pid_t pid = -1;
    posix_spawnattr_init(&at);
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &empty);
    posix_spawnattr_setsigdefault(&at, &all);
    if (flags & POSIX_SPAWN_SETPGROUP) posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&pid, path, fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(fa);
    posix_spawnattr_destroy(&at);
    return rc == 0 ? pid : -rc;
}

pid_t ffrtmp_spawn_detached(const char *path, char *const argv[], char *const envp[], int sync_fd,
                            const int *src_fds, const int *dst_fds, int n_fds) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    // The shim must never share the caller's terminal: a dropped SSH session
    // would otherwise deliver SIGHUP or EIO to the supervisor of a live job.
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (sync_fd >= 0) posix_spawn_file_actions_adddup2(&fa, sync_fd, 3);
    for (int i = 0; i < n_fds; i++) posix_spawn_file_actions_adddup2(&fa, src_fds[i], dst_fds[i]);
    return spawn_with(path, argv, envp, &fa, POSIX_SPAWN_SETSID);
}

struct legacy_failure { int stage; int err; };
static const char *const legacy_stages[] = { "exec", "user", "fd", "fork" };

__attribute__((noreturn)) static void legacy_child_fail(int report_fd, int stage) {
    struct legacy_failure f = { stage, errno };
    ssize_t ignored = write(report_fd, &f, sizeof f);
    (void)ignored;
    _exit(127);
}

// posix_spawn cannot change the user, so the legacy path forks. Between fork and exec only
// async-signal-safe calls: every fd is opened and every string built before fork.
pid_t ffrtmp_spawn_logged(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
                          const struct ffrtmp_workload_plan *plan, const char **failed_stage) {
    int report[2];
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    *failed_stage = "fork";
    if (null_fd < 0) return -errno;
    if (pipe2(report, O_CLOEXEC) != 0) { int e = errno; close(null_fd); return -e; }
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction dfl;
        sigset_t none;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        // A session of its own (so also a process group): no controlling terminal it could
        // reach through /dev/tty (TIOCSTI into the operator's root shell), as with the shim.
        if (setsid() < 0) legacy_child_fail(report[1], 2);
        if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) legacy_child_fail(report[1], 2);
        // Nothing the agent holds open (an accepted control connection, a key file another
        // thread just read) may reach the workload: every fd above stdio becomes CLOEXEC
        // (close_range with CLOSE_RANGE_CLOEXEC, Linux 5.11; a loop of fcntl before that),
        // then dup2 puts the job's files at their numbers without it.
        if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0) {
            for (int fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        for (int i = 0; i < plan->n_fds; i++)
            if (dup2(plan->src_fds[i], plan->dst_fds[i]) < 0) legacy_child_fail(report[1], 2);
        if (plan->max_file_bytes > 0 && ffrtmp_limit_file_size(plan->max_file_bytes) != 0) legacy_child_fail(report[1], 1);
        if (plan->as_user && ffrtmp_become_user(plan->uid, plan->gid) != 0) legacy_child_fail(report[1], 1);
        if (plan->exec_fd >= 0) {
            syscall(SYS_execveat, plan->exec_fd, "", argv, envp, AT_EMPTY_PATH);
            // ENOENT: a #! script whose interpreter cannot reopen a CLOEXEC fd; fall back to the path.
            if (errno != ENOENT) legacy_child_fail(report[1], 0);
        }
        execve(path, argv, envp);
        legacy_child_fail(report[1], 0);
    }
    int fork_err = errno;
    close(report[1]);
    close(null_fd);
    if (pid < 0) { close(report[0]); return -fork_err; }
    struct legacy_failure f;
    ssize_t got;
    do { got = read(report[0], &f, sizeof f); } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof f) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        *failed_stage = (f.stage >= 0 && f.stage < 4) ? legacy_stages[f.stage] : "exec";
        return -(f.err ? f.err : EPROTO);
    }
    return pid;
}

int ffrtmp_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

long ffrtmp_acl_size(const char *path) { return (long)lgetxattr(path, "system.posix_acl_access", NULL, 0); }

int ffrtmp_openat2_beneath(int dirfd, const char *path, int flags, unsigned int mode) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd;
    do { fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how); } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : (int)fd;
}

int ffrtmp_peer_cred(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred c;
    socklen_t len = sizeof c;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) != 0) return -1;
    *pid = c.pid;
    *uid = c.uid;
    *gid = c.gid;
    return 0;
}

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
int ffrtmp_peer_groups(int fd, gid_t *out, int max) {
    socklen_t len = (socklen_t)(sizeof(gid_t) * (size_t)max);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, out, &len) != 0) return -1;
    return (int)(len / sizeof(gid_t));
}

int ffrtmp_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
