#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "exit_record.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "file_io.h"
#include "json.h"
#include "shim_log.h"

static const char *json_bool(bool b)
{
    return b ? "true" : "false";
}

static void json_int_or_null(struct json_buf *jb, const char *key, bool present, int value)
{
    if (present)
        json_raw(jb, ",\"%s\":%d", key, value);
    else
        json_raw(jb, ",\"%s\":null", key);
}

static void put_outcome(struct json_buf *jb, const struct job *job)
{
    /* A child that failed before exec exits 127 by our own hand; that is not the workload's code. */
    /* ECHILD (someone else reaped it) leaves the status unknown: null, never a made-up 0. */
    bool ran = job->running && job->reaped && job->status_known;
    int st = job->wait_status;

    json_int_or_null(jb, "exit_code", ran && WIFEXITED(st), WEXITSTATUS(st));
    json_int_or_null(jb, "signal", ran && WIFSIGNALED(st), WTERMSIG(st));
    json_raw(jb, ",\"core_dumped\":%s", json_bool(ran && WIFSIGNALED(st) && WCOREDUMP(st)));
}

static void put_spawn_error(struct json_buf *jb, const struct job *job)
{
    if (!job_failed(job)) {
        json_raw(jb, ",\"spawn_error\":null");
        return;
    }
    json_raw(jb, ",\"spawn_error\":{\"stage\":\"%s\",\"errno\":%d,\"message\":",
             spawn_stage_name(job->spawn_stage), job->spawn_errno);
    json_string(jb, strerror(job->spawn_errno));
    json_raw(jb, "}");
}

int write_exit_record(const struct shim_options *opts, const struct job *job)
{
    /* killed_by can grow 6x when escaped; everything else is bounded numbers. */
    static char text[1024 + 6 * KILL_REQUEST_MAX];
    struct json_buf jb;

    json_init(&jb, text, sizeof text);
    json_raw(&jb, "{\"version\":%d,\"pid\":%d,\"pid_start_time\":%llu,\"pgid\":%d",
             EXIT_RECORD_VERSION, (int)job->pid, job->pid_start_time, (int)job->pgid);
    put_outcome(&jb, job);
    json_raw(&jb, ",\"oom_killed\":%s,\"oom_kill_count\":%llu,\"timed_out\":%s,\"stragglers_killed\":%d",
             json_bool(job->oom_kill_count > 0), (unsigned long long)job->oom_kill_count,
             json_bool(job->timed_out), job->stragglers_killed);
    json_int_or_null(&jb, "forwarded_signal", job->forwarded_signal != 0, job->forwarded_signal);
    json_raw(&jb, ",\"killed_by\":");
    if (job->has_kill_request)
        json_string(&jb, job->kill_request);
    else
        json_raw(&jb, "null");
    json_raw(&jb,
             ",\"started_at_unix_ns\":%lld,\"ended_at_unix_ns\":%lld,\"duration_ns\":%lld"
             ",\"cpu_usage_ns\":%llu,\"peak_memory_bytes\":%llu,\"usage_source\":\"%s\"",
             (long long)job->started_at_unix_ns, (long long)job->ended_at_unix_ns,
             (long long)(job->ended_mono_ns - job->started_mono_ns),
             (unsigned long long)job->cpu_usage_ns, (unsigned long long)job->peak_memory_bytes,
             usage_source_name(job->usage_source));
    put_spawn_error(&jb, job);
    json_raw(&jb, "}\n");

    if (jb.overflow) {
        shim_log("exit.json: record longer than %zu bytes, not written", sizeof text);
        return -1;
    }
    if (job->dir_fd < 0) {
        shim_log("%s/exit.json: job dir was never opened, record not written", opts->job_dir);
        return -1;
    }
    if (atomic_write_at(job->dir_fd, opts->job_dir, "exit.json", jb.data, jb.len, true) != 0)
        return -1;
    return 0;
}
