#ifndef FFRTMP_SYS_H
#define FFRTMP_SYS_H
// Thin wrappers for calls Swift cannot make directly: syscall() is variadic,
// sigset macros and POSIX_SPAWN_SETSID are not imported.
#include <sys/types.h>
#include <signal.h>
#include "ffrtmp_cgroup_limits.h"

// pidfd_open(2); -1 with errno on failure (ENOSYS before Linux 5.3).
int ffrtmp_pidfd_open(pid_t pid);
// pidfd_send_signal(2).
int ffrtmp_pidfd_send_signal(int pidfd, int sig);
// Waits until the pidfd is readable (process exited) or timeout_ms passes.
// Returns 1 when exited, 0 on timeout, -1 on error.
int ffrtmp_pidfd_wait(int pidfd, int timeout_ms);

// Blocks SIGINT, SIGTERM, SIGHUP (and SIGQUIT) in the calling thread and
// returns a non-blocking signalfd for them, so a poll loop can treat signals as
// events and no handler ever runs Swift code.
int ffrtmp_signalfd_for_control_signals(void);
// Blocks the same signals without creating an fd. Call it first thing in main, before any
// thread exists: a signalfd only sees signals that are blocked in every thread, and threads
// inherit the mask of the thread that creates them.
int ffrtmp_block_control_signals(void);
// Reads one pending signal from the signalfd; returns its number, 0 when none, -1 on error.
int ffrtmp_signalfd_read(int fd);
// Polls up to 4 fds for readability; fills ready[i] with 1/0. Returns poll()'s result.
int ffrtmp_poll_readable(const int *fds, int n, int *ready, int timeout_ms);

// Spawns path with argv/envp in a new session (POSIX_SPAWN_SETSID), with
// stdin/stdout/stderr on /dev/null, default signal mask and dispositions,
// sync_fd (if >= 0) dup'ed to fd 3, and each src_fds[i] dup'ed to dst_fds[i]
// (the job's media files; sources must not collide with targets). Returns the pid or -errno.
pid_t ffrtmp_spawn_detached(const char *path, char *const argv[], char *const envp[], int sync_fd,
                            const int *src_fds, const int *dst_fds, int n_fds);

// How the legacy path's workload is started: as whom, with which files, how large a file it
// may write.
struct ffrtmp_workload_plan {
    int as_user;                  // drop to uid/gid, no supplementary groups, no_new_privs
    uid_t uid;
    gid_t gid;
    unsigned long long max_file_bytes; // RLIMIT_FSIZE; 0 = unlimited
    const int *src_fds;           // dup'ed to dst_fds[i] in the child, without CLOEXEC
    const int *dst_fds;
    int n_fds;
    int exec_fd;                  // O_PATH fd of the program (execveat), or -1 for execve(path)
};

// Spawns path in its own process group with stdin on /dev/null and stdout/stderr on the
// given fds (the legacy path: a direct child of the agent), set up as plan says (fork, then
// only async-signal-safe calls). Returns the pid, or -errno when the child could not exec
// (then it has been reaped); *failed_stage is set to "exec", "user", "fd" or "fork".
pid_t ffrtmp_spawn_logged(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
                          const struct ffrtmp_workload_plan *plan, const char **failed_stage);

// accept4(fd, NULL, NULL, SOCK_CLOEXEC) (accept4 needs _GNU_SOURCE, which Swift's Glibc lacks).
int ffrtmp_accept_cloexec(int fd);

// Size of the POSIX access ACL on path itself (lgetxattr "system.posix_acl_access"): > 0 when
// the file has one, 0 or -1 (ENODATA, ENOTSUP) when it has none.
long ffrtmp_acl_size(const char *path);

// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: path (relative) resolved under
// dirfd, no component (symlinks included) may leave it. Returns the fd or -errno
// (-ENOSYS before Linux 5.6, where the caller walks with O_NOFOLLOW instead).
int ffrtmp_openat2_beneath(int dirfd, const char *path, int flags, unsigned int mode);

// SO_PEERCRED of a connected Unix socket (struct ucred needs _GNU_SOURCE, which Swift's
// Glibc module does not see). Returns 0 or -1 with errno.
int ffrtmp_peer_cred(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

// SO_PEERGROUPS (Linux 4.13+): the peer's supplementary groups, taken at connect time.
// Returns the number stored in out (at most max), or -1 with errno.
int ffrtmp_peer_groups(int fd, gid_t *out, int max);

// pipe2(O_CLOEXEC).
int ffrtmp_pipe_cloexec(int fds[2]);
#endif
