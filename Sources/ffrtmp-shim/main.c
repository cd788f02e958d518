/*
 * ffrtmp-shim: the per-job supervisor. One shim per transcode, started by the
 * CLI or the agent and outliving both: it puts the workload into its cgroups
 * before exec, waits for it, enforces the timeout, forwards TERM/INT/QUIT,
 * and leaves JOBDIR/exit.json as the final word on how the job ended.
 * Exit status: 0 once exit.json is written, 1 if it could not be, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "cgroup.h"
#include "cli.h"
#include "detach.h"
#include "exit_record.h"
#include "job.h"
#include "loop.h"
#include "signals.h"
#include "workload.h"

int main(int argc, char **argv)
{
    struct shim_options opts;
    struct job job;
    int status;

    job_init(&job);
    cli_parse(argc, argv, &opts);
    detach_from_caller(&opts, &job);
    watch_signals(&job);
    spawn_workload(&opts, &job);
    report_start(&opts, &job);
    /* After the start is reported: the caller does not wait for this. */
    reserve_exit_record(&opts, &job);
    supervise(&opts, &job);
    reap_stragglers(&opts, &job);
    collect_usage(&opts, &job);
    status = write_exit_record(&opts, &job) == 0 ? 0 : 1;
    remove_cgroups(&opts);
    return status;
}
