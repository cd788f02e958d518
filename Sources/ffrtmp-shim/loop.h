/*
 * The one event loop: a signalfd (SIGCHLD, SIGTERM, SIGINT, SIGQUIT) and a
 * timerfd (timeout, then grace) under poll. There are no signal handlers, so
 * nothing runs at an awkward moment; every event is handled in order here.
 */
#ifndef FFRTMP_SHIM_LOOP_H
#define FFRTMP_SHIM_LOOP_H

#include "cli.h"
#include "job.h"

/* Runs until the workload (the direct child) has been reaped. */
void supervise(const struct shim_options *opts, struct job *job);

#endif
