#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "signals.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "shim_log.h"

void set_disposition(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0)
        shim_log("sigaction(SIG%s): %s", sig_name(sig), strerror(errno));
}

static void watched_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGQUIT);
}

void watch_signals(struct job *job)
{
    sigset_t set;

    if (job_failed(job))
        return;
    /*
     * A signal whose disposition is SIG_IGN is dropped when generated, even
     * while blocked, so signalfd would never see it; and an ignored SIGCHLD
     * makes the kernel reap the child itself, so wait4 gets ECHILD and no
     * status. Callers do hand us ignored signals: a non-interactive shell
     * starts background commands with SIGINT and SIGQUIT ignored.
     */
    set_disposition(SIGCHLD, SIG_DFL);
    set_disposition(SIGTERM, SIG_DFL);
    set_disposition(SIGINT, SIG_DFL);
    set_disposition(SIGQUIT, SIG_DFL);

    watched_set(&set);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        shim_log("sigprocmask: %s", strerror(errno));
        job_fail(job, STAGE_OPEN, errno);
        return;
    }
    job->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (job->signal_fd < 0) {
        shim_log("signalfd: %s", strerror(errno));
        job_fail(job, STAGE_OPEN, errno);
    }
}

const char *sig_name(int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    return abbrev ? abbrev : "RT";
}


