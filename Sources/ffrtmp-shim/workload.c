#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>

#include "../CFFRTMPSys/include/ffrtmp_identity.h"
#include "file_io.h"
#include "proc_stat.h"
#include "shim_log.h"

/* glibc's execvp falls back to this when PATH is unset. */
#define DEFAULT_PATH "/bin:/usr/bin"

/* What the child sends up the exec pipe when it cannot exec. */
struct child_failure {
    int stage;
    int err;
};

/* Everything the child needs, prepared before fork so the child only does syscalls. */
struct child_plan {
    char path[PATH_MAX];
    char *const *argv;
    int cgroup_fds[SHIM_MAX_CGROUPS];
    int n_cgroups;
    int stdin_fd, stdout_fd, stderr_fd;
    int report_fd; /* write end of the CLOEXEC exec pipe */
    const struct shim_options *opts; /* --user, --pass-fd, --max-output-bytes */
    int exec_fd; /* O_PATH of the program when dropping to --user, else -1 */
    int cgroup_dir_fd; /* v2: the job cgroup's directory, for clone3(CLONE_INTO_CGROUP); else -1 */
    int born_in_cgroup; /* set in the child's copy: clone3 placed it, so it joins nothing */
};

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/*
 * struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2, Linux 5.7), spelled out here:
 * glibc 2.36 has no clone3 wrapper and older kernel headers lack the field.
 */
struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/*
 * On cgroup v2 the workload is born in its job cgroup: clone3 with CLONE_INTO_CGROUP on the
 * cgroup's directory fd, as runc, crun and Nomad start theirs. No migration happens at all
 * (no cgroup.procs write, no threadgroup lock). Like fork (no CLONE_VM, no new stack) the
 * child runs on a copy of our memory; it only makes async-signal-safe calls before execve.
 * Returns the pid, 0 in the child, or -1 with errno (ENOSYS before 5.3, E2BIG or EINVAL
 * before 5.7: the caller falls back to fork and the join before exec).
 */
static pid_t clone_into_cgroup(int cgroup_dir_fd)
{
    struct clone_args_v2 args;

    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_dir_fd;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

/*
 * execvp is not async-signal-safe (it may allocate), so the PATH search runs
 * in the shim before fork and the child only calls execve.
 * Returns 0 with plan->path set, or ENOENT / EACCES / ENAMETOOLONG.
 */
static int resolve_program(const char *name, char *path)
{
    const char *search, *dir, *colon;
    int result = ENOENT;

    if (strchr(name, '/')) {
        if (strlen(name) >= PATH_MAX)
            return ENAMETOOLONG;
        strcpy(path, name);
        return 0; /* execve in the child reports what is wrong with it */
    }
    search = getenv("PATH");
    if (!search)
        search = DEFAULT_PATH;

    for (dir = search;; dir = colon + 1) {
        struct stat st;
        size_t dir_len;

        colon = strchrnul(dir, ':');
        dir_len = (size_t)(colon - dir);
        /* An empty PATH element means the current directory, as in execvp. */
        if (dir_len == 0) {
            dir = ".";
            dir_len = 1;
        }
        if (snprintf(path, PATH_MAX, "%.*s/%s", (int)dir_len, dir, name) < PATH_MAX &&
            stat(path, &st) == 0) {
            if (S_ISREG(st.st_mode) && access(path, X_OK) == 0)
                return 0;
            result = EACCES;
        }
        if (*colon == '\0')
            break;
    }
    return result;
}

/* Async-signal-safe: no stdio, no malloc. */
static size_t format_pid(pid_t pid, char *buf)
{
    char rev[16];
    size_t n = 0, i;
    unsigned long v = (unsigned long)pid;

    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (i = 0; i < n; i++)
        buf[i] = rev[n - 1 - i];
    buf[n++] = '\n';
    return n;
}

__attribute__((noreturn)) static void child_fail(int report_fd, enum spawn_stage stage)
{
    struct child_failure f = { .stage = (int)stage, .err = errno };
    ssize_t ignored = write(report_fd, &f, sizeof f);

    (void)ignored;
    _exit(127);
}

/* Runs between fork and execve: async-signal-safe calls only. */
__attribute__((noreturn)) static void run_child(const struct child_plan *plan)
{
    struct sigaction dfl;
    sigset_t none;
    char pid_text[24];
    size_t pid_len;

    /*
     * Ignored dispositions and the blocked mask survive execve. Resetting
     * every signal, not just the SIGPIPE and SIGHUP the shim ignores, also
     * drops what the shim's own caller left ignored (a shell's background
     * job has SIGINT and SIGQUIT ignored), which would make forwarding them
     * a silent no-op. SIGKILL and SIGSTOP just fail with EINVAL.
     */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (setpgid(0, 0) != 0)
        child_fail(plan->report_fd, STAGE_SETPGID);

    pid_len = format_pid(getpid(), pid_text);
    for (int i = 0; !plan->born_in_cgroup && i < plan->n_cgroups; i++) {
        ssize_t n = write(plan->cgroup_fds[i], pid_text, pid_len);
        if (n != (ssize_t)pid_len) {
            if (n >= 0)
                errno = EIO;
            child_fail(plan->report_fd, STAGE_CGROUP);
        }
    }

    if (dup2(plan->stdin_fd, STDIN_FILENO) < 0 || dup2(plan->stdout_fd, STDOUT_FILENO) < 0 ||
        dup2(plan->stderr_fd, STDERR_FILENO) < 0)
        child_fail(plan->report_fd, STAGE_STDIO);
    /* The job's media files (opened under their root by the caller) stay open across execve. */
    for (int i = 0; i < plan->opts->n_pass_fds; i++)
        if (fcntl(plan->opts->pass_fds[i], F_SETFD, 0) != 0)
            child_fail(plan->report_fd, STAGE_STDIO);

    /* After the cgroups are joined (cgroup.procs needs our privileges), before execve. */
    if (plan->opts->max_output_bytes > 0 && ffrtmp_limit_file_size(plan->opts->max_output_bytes) != 0)
        child_fail(plan->report_fd, STAGE_USER);
    if (plan->opts->as_user && ffrtmp_become_user(plan->opts->uid, plan->opts->gid) != 0)
        child_fail(plan->report_fd, STAGE_USER);

    if (plan->exec_fd >= 0) {
        /*
         * Exec through the fd opened as root: the job's user needs no search permission on
         * the program's directories, and the file that was checked is the one that runs.
         * ENOENT: a #! script, whose interpreter cannot reopen a CLOEXEC fd; use the path.
         */
        syscall(SYS_execveat, plan->exec_fd, "", plan->argv, environ, AT_EMPTY_PATH);
        if (errno != ENOENT)
            child_fail(plan->report_fd, STAGE_EXEC);
    }
    execve(plan->path, plan->argv, environ);
    child_fail(plan->report_fd, STAGE_EXEC);
}

static void close_plan(struct child_plan *plan)
{
    for (int i = 0; i < plan->n_cgroups; i++)
        close(plan->cgroup_fds[i]);
    plan->n_cgroups = 0;
    if (plan->cgroup_dir_fd >= 0)
        close(plan->cgroup_dir_fd);
    plan->cgroup_dir_fd = -1;
    if (plan->exec_fd >= 0)
        close(plan->exec_fd);
    plan->exec_fd = -1;
    if (plan->stdin_fd >= 0)
        close(plan->stdin_fd);
    if (plan->stdout_fd >= 0)
        close(plan->stdout_fd);
    if (plan->stderr_fd >= 0)
        close(plan->stderr_fd);
    plan->stdin_fd = plan->stdout_fd = plan->stderr_fd = -1;
}

static int open_logged(int dir_fd, const char *shown_dir, const char *name, int flags, mode_t mode)
{
    int fd = openat(dir_fd, name, flags | O_CLOEXEC, mode);

    if (fd < 0)
        shim_log("%s/%s: open: %s", shown_dir, name, strerror(errno));
    return fd;
}

/* Opens every fd the child needs, so the child itself never calls open. */
static int prepare_plan(const struct shim_options *opts, struct job *job, struct child_plan *plan)
{
    const int log_flags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW;

    for (int i = 0; i < opts->n_cgroups; i++) {
        char procs[PATH_MAX];
        /*
         * v1 hierarchies have a "tasks" file; we join through it rather than
         * cgroup.procs. A cgroup.procs write takes cgroup_threadgroup_rwsem for
         * writing, and when that percpu rwsem has been idle its writer waits a
         * full RCU grace period: measured 5-20 ms per job start on Linux 6.18
         * (vs 0.3-0.6 ms through "tasks"). Moving one thread does not need
         * threadgroup stability, and right after fork the child has exactly one
         * thread, so moving it moves the whole process. v2 has no "tasks" file
         * (cgroup.threads only works in threaded subtrees): cgroup.procs there.
         */
        snprintf(procs, sizeof procs, "%s/tasks", opts->cgroups[i]);
        int fd = open(procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            snprintf(procs, sizeof procs, "%s/cgroup.procs", opts->cgroups[i]);
            fd = open(procs, O_WRONLY | O_CLOEXEC);
            /* v2 (one unified cgroup): its directory too, for clone3(CLONE_INTO_CGROUP). */
            if (fd >= 0 && opts->n_cgroups == 1)
                plan->cgroup_dir_fd = open(opts->cgroups[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0) {
            shim_log("%s: open: %s", procs, strerror(errno));
            return -1;
        }
        plan->cgroup_fds[plan->n_cgroups++] = fd;
    }
    /* A program that cannot be opened is left to execve, which reports what is wrong with it. */
    if (opts->as_user)
        plan->exec_fd = open(plan->path, O_PATH | O_CLOEXEC);
    plan->stdin_fd = open_logged(AT_FDCWD, "", "/dev/null", O_RDONLY, 0);
    if (plan->stdin_fd < 0)
        return -1;
    plan->stdout_fd = open_logged(job->dir_fd, opts->job_dir, "stdout.log", log_flags, 0640);
    if (plan->stdout_fd < 0)
        return -1;
    plan->stderr_fd = open_logged(job->dir_fd, opts->job_dir, "stderr.log", log_flags, 0640);
    if (plan->stderr_fd < 0)
        return -1;
    return 0;
}

static void write_workload_pid(const struct shim_options *opts, struct job *job)
{
    char line[96];
    int len;

    /* Start time is fixed at fork, so it can be read before the child execs. */
    if (proc_start_time(job->pid, &job->pid_start_time) != 0)
        shim_log("/proc/%d/stat: start time: %s", (int)job->pid, strerror(errno));
    len = snprintf(line, sizeof line, "%d %llu %d\n", (int)job->pid, job->pid_start_time,
                   (int)job->pgid);
    /* The workload is already running; without the file it is still supervised and recorded. */
    atomic_write_at(job->dir_fd, opts->job_dir, "workload.pid", line, (size_t)len, false);
}

/* EOF on the CLOEXEC pipe means execve succeeded; a record means it did not. */
static void await_exec(struct job *job, int report_fd)
{
    struct child_failure f;
    size_t got = 0;

    while (got < sizeof f) {
        ssize_t n = read(report_fd, (char *)&f + got, sizeof f - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == 0) {
        job->running = true;
        shim_log("workload %d started: exec succeeded (%s)", (int)job->pid,
                 job->born_in_cgroup ? "born in its cgroup by clone3 CLONE_INTO_CGROUP" : "cgroups joined before exec");
        return;
    }
    if (got < sizeof f)
        f = (struct child_failure){ .stage = STAGE_EXEC, .err = EPROTO };
    job_fail(job, (enum spawn_stage)f.stage, f.err);
    shim_log("workload %d did not start: stage %s: %s", (int)job->pid,
             spawn_stage_name((enum spawn_stage)f.stage), strerror(f.err));
    while (wait4(job->pid, &job->wait_status, 0, &job->rusage) < 0 && errno == EINTR)
        ;
    job->reaped = true;
    job_mark_ended(job);
}

void spawn_workload(const struct shim_options *opts, struct job *job)
{
    static struct child_plan plan; /* PATH_MAX-sized; kept off the stack */
    int pipe_fds[2];
    pid_t pid;
    int err;

    job_mark_started(job);
    if (job_failed(job))
        goto not_forked;

    memset(&plan, 0, sizeof plan);
    plan.stdin_fd = plan.stdout_fd = plan.stderr_fd = -1;
    plan.exec_fd = -1;
    plan.cgroup_dir_fd = -1;
    plan.opts = opts;
    plan.argv = opts->argv;
    err = resolve_program(opts->argv[0], plan.path);
    if (err != 0) {
        shim_log("%s: not runnable via PATH: %s", opts->argv[0], strerror(err));
        job_fail(job, STAGE_EXEC, err);
        goto not_forked;
    }
    if (prepare_plan(opts, job, &plan) != 0) {
        job_fail(job, STAGE_OPEN, errno);
        close_plan(&plan);
        goto not_forked;
    }
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        shim_log("exec pipe: %s", strerror(errno));
        job_fail(job, STAGE_OPEN, errno);
        close_plan(&plan);
        goto not_forked;
    }
    plan.report_fd = pipe_fds[1];

    job_mark_started(job);
    pid = -1;
    if (plan.cgroup_dir_fd >= 0) {
        plan.born_in_cgroup = 1;
        pid = clone_into_cgroup(plan.cgroup_dir_fd);
        if (pid < 0) {
            /* An old kernel, or a cgroup clone3 will not place into: the join before exec says why, if anything. */
            shim_log("clone3(CLONE_INTO_CGROUP): %s; starting with fork and a join before exec", strerror(errno));
            plan.born_in_cgroup = 0;
        }
    }
    if (pid < 0)
        pid = fork();
    if (pid == 0)
        run_child(&plan);
    err = errno;
    close(pipe_fds[1]);
    close_plan(&plan);
    if (pid < 0) {
        shim_log("fork: %s", strerror(err));
        job_fail(job, STAGE_FORK, err);
        close(pipe_fds[0]);
        goto not_forked;
    }

    /*
     * Set the group from this side too, so kill(-pgid) works even if we get
     * there before the child has run. EACCES (child already exec'ed) and ESRCH
     * (already gone) both mean the child's own setpgid settled it.
     */
    if (setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH)
        shim_log("setpgid(%d): %s", (int)pid, strerror(errno));
    job->pid = pid;
    job->pgid = pid;
    job->born_in_cgroup = plan.born_in_cgroup;
    write_workload_pid(opts, job);
    await_exec(job, pipe_fds[0]);
    close(pipe_fds[0]);
    return;

not_forked:
    job_mark_ended(job);
}

void report_start(struct shim_options *opts, const struct job *job)
{
    char line[96];
    int len;

    if (opts->sync_fd < 0)
        return;
    if (job->running)
        len = snprintf(line, sizeof line, "running %d %llu\n", (int)job->pid, job->pid_start_time);
    else
        len = snprintf(line, sizeof line, "failed %s %d\n", spawn_stage_name(job->spawn_stage),
                       job->spawn_errno);
    /* EPIPE just means the caller stopped listening; the job goes on regardless. */
    if (write_all(opts->sync_fd, line, (size_t)len) != 0 && errno != EPIPE)
        shim_log("--sync-fd %d: write: %s", opts->sync_fd, strerror(errno));
    close(opts->sync_fd);
    opts->sync_fd = -1;
}
