/*
 * Cutting the shim loose from whoever started it, so the caller (CLI or agent)
 * can exit, crash or lose its terminal while the job carries on: no inherited
 * fds, no controlling terminal, stdio on /dev/null and shim.log, SIGHUP and
 * SIGPIPE ignored, and shim.pid published for anyone who comes looking.
 */
#ifndef FFRTMP_SHIM_DETACH_H
#define FFRTMP_SHIM_DETACH_H

#include "cli.h"
#include "job.h"

/* May move opts->sync_fd above 2. Failures are recorded as spawn stage "open". */
void detach_from_caller(struct shim_options *opts, struct job *job);

#endif
