#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "duration.h"
#include "file_io.h"
#include "shim_log.h"
#include "signals.h"

enum timer_phase { TIMER_OFF, TIMER_TIMEOUT, TIMER_GRACE, TIMER_DONE };

/*
 * How often the bytes the workload has written are sampled against --max-output-bytes.
 * RLIMIT_FSIZE (set in the child) stops any one file at the limit exactly; this watch
 * bounds the total over many files (an image2 pattern writes one file per frame), so the
 * total can overshoot by what the workload writes in one interval.
 */
#define OUTPUT_WATCH_NS (50ULL * 1000000ULL)

struct loop {
    const struct shim_options *opts;
    struct job *job;
    int timer_fd;
    enum timer_phase phase;
    int watch_fd; /* periodic timerfd for the output watch, -1 without --max-output-bytes */
};

/*
 * The group, and the leader by its pid: a workload may have moved itself to another process
 * group (setpgid), which a group signal would miss. It is our unreaped child, so its pid
 * cannot have been reused. (Its children are the cgroup kill's.)
 */
static void signal_group(const struct job *job, int sig)
{
    if (kill(-job->pgid, sig) != 0 && errno != ESRCH)
        shim_log("kill(-%d, %d/SIG%s): %s", (int)job->pgid, sig, sig_name(sig), strerror(errno));
    /* Only when it left: a second copy of SIGINT would count twice in ffmpeg's signal tally. */
    if (!job->reaped && getpgid(job->pid) != job->pgid && kill(job->pid, sig) != 0 && errno != ESRCH)
        shim_log("kill(%d, %d/SIG%s): %s", (int)job->pid, sig, sig_name(sig), strerror(errno));
}

/* wchar of /proc/PID/io: every byte the workload passed to write(), whatever the file system. */
static int read_bytes_written(pid_t pid, uint64_t *out)
{
    char path[48], buf[512];
    const char *p;

    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    if (read_small_file(path, buf, sizeof buf) < 0)
        return -1;
    p = strstr(buf, "wchar: ");
    if (!p)
        return -1;
    *out = strtoull(p + 7, NULL, 10);
    return 0;
}

static void output_limit_hit(struct loop *lp, const char *how)
{
    struct job *job = lp->job;

    if (job->output_limit_exceeded)
        return;
    job->output_limit_exceeded = true;
    shim_log("output limit of %llu bytes reached (%s; %llu bytes written): SIGKILL to the job",
             (unsigned long long)lp->opts->max_output_bytes, how, (unsigned long long)job->bytes_written);
    if (!job->reaped) {
        signal_group(job, SIGKILL);
        cgroup_kill_all(lp->opts);
    }
}

static void check_output(struct loop *lp)
{
    uint64_t written;

    if (lp->opts->max_output_bytes == 0 || lp->job->reaped)
        return;
    if (read_bytes_written(lp->job->pid, &written) != 0) {
        static bool said;
        if (!said && !lp->job->reaped)
            shim_log("/proc/%d/io: %s: the output total is not being watched", (int)lp->job->pid, strerror(errno));
        said = true;
        return;
    }
    lp->job->bytes_written = written;
    if (written >= lp->opts->max_output_bytes)
        output_limit_hit(lp, "bytes written");
}


static void on_forwardable(struct loop *lp, int received)
{
    /* Reaped earlier in this same batch: the group id may already be free for reuse. */
    if (lp->job->reaped) {
        shim_log("received SIG%s after the workload ended; nothing to forward", sig_name(received));
        return;
    }
    shim_log("received SIG%s, forwarding it to process group %d", sig_name(received), (int)lp->job->pgid);
    signal_group(lp->job, received);
    lp->job->forwarded_signal = received;
}

static void on_sigchld(struct loop *lp)
{
    struct job *job = lp->job;
    pid_t r;

    if (job->reaped)
        return;
    /* A zombie still has its /proc/PID/io: the last bytes count before it is reaped. */
    check_output(lp);
    r = wait4(job->pid, &job->wait_status, WNOHANG, &job->rusage);
    if (r == job->pid) {
        job->reaped = true;
        job->status_known = true;
        job_mark_ended(job);
        if (WIFEXITED(job->wait_status))
            shim_log("workload %d exited with status %d", (int)job->pid,
                     WEXITSTATUS(job->wait_status));
        if (WIFSIGNALED(job->wait_status) && WTERMSIG(job->wait_status) == SIGXFSZ &&
            lp->opts->max_output_bytes > 0)
            output_limit_hit(lp, "a file reached RLIMIT_FSIZE");
        if (WIFSIGNALED(job->wait_status))
            shim_log("workload %d killed by signal %d (SIG%s)%s", (int)job->pid,
                     WTERMSIG(job->wait_status), sig_name(WTERMSIG(job->wait_status)),
                     WCOREDUMP(job->wait_status) ? ", core dumped" : "");
    } else if (r < 0 && errno != EINTR) {
        /* ECHILD here would mean someone else reaped our child: nothing left to wait for. */
        shim_log("wait4(%d): %s", (int)job->pid, strerror(errno));
        if (errno == ECHILD) {
            job->reaped = true;
            job_mark_ended(job);
        }
    }
}

static void drain_signals(struct loop *lp)
{
    struct signalfd_siginfo si;

    for (;;) {
        ssize_t n = read(lp->job->signal_fd, &si, sizeof si);
        if (n != (ssize_t)sizeof si) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                shim_log("signalfd read: %s", strerror(errno));
            return;
        }
        if (si.ssi_signo == SIGCHLD)
            on_sigchld(lp);
        else
            on_forwardable(lp, (int)si.ssi_signo);
    }
}

static int arm_timer(struct loop *lp, uint64_t ns)
{
    struct itimerspec its;

    memset(&its, 0, sizeof its);
    its.it_value = ns_to_timespec(ns);
    if (timerfd_settime(lp->timer_fd, 0, &its, NULL) != 0) {
        shim_log("timerfd_settime: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void kill_everything(struct loop *lp)
{
    shim_log("grace over: SIGKILL to process group %d and the whole cgroup",
             (int)lp->job->pgid);
    signal_group(lp->job, SIGKILL);
    cgroup_kill_all(lp->opts);
    lp->phase = TIMER_DONE;
}

static void on_timer(struct loop *lp)
{
    uint64_t expirations;

    if (read(lp->timer_fd, &expirations, sizeof expirations) < 0)
        return; /* EAGAIN: poll woke us for an expiry already consumed */

    if (lp->phase == TIMER_TIMEOUT) {
        lp->job->timed_out = true;
        shim_log("timeout: SIGTERM to process group %d", (int)lp->job->pgid);
        signal_group(lp->job, SIGTERM);
        lp->phase = TIMER_GRACE;
        /* An unarmed timerfd never fires, so a zero grace is done right here. */
        if (lp->opts->grace_ns == 0 || arm_timer(lp, lp->opts->grace_ns) != 0)
            kill_everything(lp);
    } else if (lp->phase == TIMER_GRACE) {
        kill_everything(lp);
    }
}

static void start_timeout(struct loop *lp)
{
    if (lp->opts->timeout_ns == 0)
        return;
    lp->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (lp->timer_fd < 0) {
        /* Without the timer the job would run unbounded: kill it now, loudly. */
        shim_log("timerfd_create: %s: cannot enforce --timeout, killing the workload",
                 strerror(errno));
        lp->job->timed_out = true;
        kill_everything(lp);
        return;
    }
    lp->phase = TIMER_TIMEOUT;
    if (arm_timer(lp, lp->opts->timeout_ns) != 0) {
        lp->job->timed_out = true;
        kill_everything(lp);
    }
}

static void start_output_watch(struct loop *lp)
{
    struct itimerspec its;

    if (lp->opts->max_output_bytes == 0)
        return;
    lp->watch_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    memset(&its, 0, sizeof its);
    its.it_value = its.it_interval = ns_to_timespec(OUTPUT_WATCH_NS);
    if (lp->watch_fd < 0 || timerfd_settime(lp->watch_fd, 0, &its, NULL) != 0) {
        /* Without the watch the total is unbounded: end the job now, loudly. */
        shim_log("output watch timer: %s: cannot enforce --max-output-bytes", strerror(errno));
        output_limit_hit(lp, "the watch could not start");
    }
}

static void on_watch(struct loop *lp)
{
    uint64_t expirations;

    if (read(lp->watch_fd, &expirations, sizeof expirations) < 0)
        return;
    check_output(lp);
}

void supervise(const struct shim_options *opts, struct job *job)
{
    struct loop lp = { .opts = opts, .job = job, .timer_fd = -1, .phase = TIMER_OFF, .watch_fd = -1 };

    if (!job->running)
        return;
    start_timeout(&lp);
    start_output_watch(&lp);

    while (!job->reaped) {
        struct pollfd fds[3] = {
            { .fd = job->signal_fd, .events = POLLIN },
            { .fd = lp.timer_fd, .events = POLLIN }, /* fd -1 is skipped by poll */
            { .fd = lp.watch_fd, .events = POLLIN },
        };
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            shim_log("poll: %s", strerror(errno));
            /* Cannot watch any more; block in wait4 so the record still gets written. */
            if (wait4(job->pid, &job->wait_status, 0, &job->rusage) == job->pid || errno == ECHILD) {
                job->reaped = true;
                job_mark_ended(job);
            }
            break;
        }
        if (fds[0].revents & POLLIN)
            drain_signals(&lp);
        if (fds[1].revents & POLLIN)
            on_timer(&lp);
        if (fds[2].revents & POLLIN)
            on_watch(&lp);
    }
    if (lp.timer_fd >= 0)
        close(lp.timer_fd);
    if (lp.watch_fd >= 0)
        close(lp.watch_fd);
}
