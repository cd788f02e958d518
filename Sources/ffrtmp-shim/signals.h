/*
 * The shim's signal plumbing. The shim installs no handlers at all: SIGPIPE
 * and SIGHUP are ignored, and SIGCHLD, SIGTERM, SIGINT and SIGQUIT are
 * blocked and read from a signalfd by the event loop (loop.c).
 */
#ifndef FFRTMP_SHIM_SIGNALS_H
#define FFRTMP_SHIM_SIGNALS_H

#include <signal.h>

#include "job.h"

/* SIG_IGN or SIG_DFL; a failure is logged (it only happens for invalid numbers). */
void set_disposition(int sig, void (*handler)(int));

/*
 * Blocks the watched signals and opens job->signal_fd. Must run before fork:
 * a SIGCHLD or an operator's SIGTERM that arrives between fork and the loop
 * is then queued instead of lost or acted on by default.
 */
void watch_signals(struct job *job);

/* "TERM" for 15; "RT" for real-time signals, which have no abbreviation. */
const char *sig_name(int sig);


#endif
