#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "job.h"

#include <string.h>
#include <time.h>

#include "duration.h"

void job_init(struct job *job)
{
    memset(job, 0, sizeof *job);
    job->dir_fd = -1;
    job->signal_fd = -1;
    job->usage_source = USAGE_NONE;
}

void job_fail(struct job *job, enum spawn_stage stage, int err)
{
    if (job->spawn_stage != STAGE_NONE)
        return;
    job->spawn_stage = stage;
    job->spawn_errno = err;
}

bool job_failed(const struct job *job)
{
    return job->spawn_stage != STAGE_NONE;
}

void job_mark_started(struct job *job)
{
    job->started_at_unix_ns = clock_ns(CLOCK_REALTIME);
    job->started_mono_ns = clock_ns(CLOCK_MONOTONIC);
}

void job_mark_ended(struct job *job)
{
    job->ended_at_unix_ns = clock_ns(CLOCK_REALTIME);
    job->ended_mono_ns = clock_ns(CLOCK_MONOTONIC);
}

const char *spawn_stage_name(enum spawn_stage stage)
{
    switch (stage) {
    case STAGE_OPEN: return "open";
    case STAGE_CGROUP: return "cgroup";
    case STAGE_SETPGID: return "setpgid";
    case STAGE_STDIO: return "stdio";
    case STAGE_EXEC: return "exec";
    case STAGE_FORK: return "fork";
    case STAGE_USER: return "user";
    case STAGE_NONE: break;
    }
    return "none";
}

const char *usage_source_name(enum usage_source source)
{
    switch (source) {
    case USAGE_CGROUP: return "cgroup";
    case USAGE_RUSAGE: return "rusage";
    case USAGE_MIXED: return "mixed";
    case USAGE_NONE: break;
    }
    return "none";
}
