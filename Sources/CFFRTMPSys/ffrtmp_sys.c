#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ffrtmp_sys.h"
#include <errno.h>
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

pid_t ffrtmp_spawn_detached(const char *path, char *const argv[], char *const envp[], int sync_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    // The shim must never share the caller's terminal: a dropped SSH session
    // would otherwise deliver SIGHUP or EIO to the supervisor of a live job.
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (sync_fd >= 0) posix_spawn_file_actions_adddup2(&fa, sync_fd, 3);
    return spawn_with(path, argv, envp, &fa, POSIX_SPAWN_SETSID);
}

pid_t ffrtmp_spawn_logged(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    return spawn_with(path, argv, envp, &fa, POSIX_SPAWN_SETPGROUP);
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
