/*
 * Starting the workload: PATH lookup, fork, joining every cgroup, then exec.
 * The child is in all of its cgroups before execve, so not one instruction of
 * the workload runs (or allocates) outside its limits.
 */
#ifndef FFRTMP_SHIM_WORKLOAD_H
#define FFRTMP_SHIM_WORKLOAD_H

#include "cli.h"
#include "job.h"

/*
 * On return either job->running (exec succeeded, workload.pid written) or a
 * spawn stage and errno are recorded; a child that failed before exec has
 * already been reaped.
 */
void spawn_workload(const struct shim_options *opts, struct job *job);

/*
 * Writes the one --sync-fd line ("running PID STARTTIME" or
 * "failed STAGE ERRNO") and closes the fd, so the caller learns the outcome
 * of the start without polling the job dir.
 */
void report_start(struct shim_options *opts, const struct job *job);

#endif
