/*
 * What the shim does with the job's cgroup dirs besides joining them (that
 * happens in the child, see workload.c): read usage after the workload ends,
 * kill the whole cgroup at the end of a timeout's grace, and remove the dirs.
 * Each --cgroup dir is one v1 hierarchy or one v2 cgroup; a file is looked for
 * in every dir, in command-line order, and the first dir that has it wins.
 */
#ifndef FFRTMP_SHIM_CGROUP_H
#define FFRTMP_SHIM_CGROUP_H

#include "cli.h"
#include "job.h"

/*
 * CPU time, peak memory and OOM kills from cgroupfs, falling back to the
 * workload's wait4 rusage for a figure no dir provides (and saying so in
 * job->usage_source). Also picks up JOBDIR/kill-request.
 */
void collect_usage(const struct shim_options *opts, struct job *job);

/*
 * SIGKILLs every process in the job's cgroups, process-group escapees included:
 * v2 cgroup.kill; v1 freeze, kill, thaw; otherwise repeated kills until empty.
 */
void cgroup_kill_all(const struct shim_options *opts);

/* The largest member count over the --cgroup dirs. */
int cgroup_members(const struct shim_options *opts);

/* After the leader is reaped: kills whatever is left in the job's cgroups. */
void reap_stragglers(const struct shim_options *opts, struct job *job);

/* rmdir every --cgroup dir; failures are logged, never fatal. */
void remove_cgroups(const struct shim_options *opts);

#endif
