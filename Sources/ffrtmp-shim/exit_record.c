#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "exit_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* killed_by can grow 6x when escaped; everything else is bounded numbers. */
#define RECORD_MAX (1024 + 6 * KILL_REQUEST_MAX)
#define RESERVE_NAME "exit.json.reserve"

void reserve_exit_record(const struct shim_options *opts, const struct job *job)
{
    static const char zeros[4096];
    size_t done = 0;
    int fd, rc;

    if (job->dir_fd < 0)
        return;
    fd = openat(job->dir_fd, RESERVE_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) {
        shim_log("%s/%s: open: %s (no space reserved for exit.json)", opts->job_dir, RESERVE_NAME, strerror(errno));
        return;
    }
    rc = posix_fallocate(fd, 0, RECORD_MAX);
    if (rc != 0) {
        /* A filesystem without fallocate: real blocks, written. */
        while (done < RECORD_MAX) {
            size_t n = RECORD_MAX - done < sizeof zeros ? RECORD_MAX - done : sizeof zeros;
            if (write_all(fd, zeros, n) != 0) {
                shim_log("%s/%s: reserve: %s (no space reserved for exit.json)", opts->job_dir, RESERVE_NAME, strerror(errno));
                close(fd);
                unlinkat(job->dir_fd, RESERVE_NAME, 0);
                return;
            }
            done += n;
        }
    }
    /* No fsync: the blocks are the filesystem's to account for either way, and after a
     * crash the shim that would use them is gone too. */
    close(fd);
}

/* The record into the reserved blocks (overwritten in place, then shrunk: neither needs
 * new space), then renamed to exit.json. */
static int write_into_reserve(const struct shim_options *opts, const struct job *job, const char *data, size_t len)
{
    int fd = openat(job->dir_fd, RESERVE_NAME, O_WRONLY | O_CLOEXEC);
    size_t off = 0;

    if (fd < 0) {
        shim_log("%s/%s: open: %s", opts->job_dir, RESERVE_NAME, strerror(errno));
        return -1;
    }
    while (off < len) {
        ssize_t n = pwrite(fd, data + off, len - off, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            shim_log("%s/%s: pwrite: %s", opts->job_dir, RESERVE_NAME, strerror(errno));
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (ftruncate(fd, (off_t)len) != 0 || fsync(fd) != 0) {
        shim_log("%s/%s: truncate+fsync: %s", opts->job_dir, RESERVE_NAME, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    if (renameat(job->dir_fd, RESERVE_NAME, job->dir_fd, "exit.json") != 0) {
        shim_log("%s/exit.json: rename from the reserve: %s", opts->job_dir, strerror(errno));
        return -1;
    }
    if (fsync(job->dir_fd) != 0)
        shim_log("%s: fsync dir: %s", opts->job_dir, strerror(errno));
    shim_log("%s/exit.json: written into the space reserved at start", opts->job_dir);
    return 0;
}

int write_exit_record(const struct shim_options *opts, const struct job *job)
{
    static char text[RECORD_MAX];
    struct json_buf jb;

    json_init(&jb, text, sizeof text);
    json_raw(&jb, "{\"version\":%d,\"pid\":%d,\"pid_start_time\":%llu,\"pgid\":%d",
             EXIT_RECORD_VERSION, (int)job->pid, job->pid_start_time, (int)job->pgid);
    put_outcome(&jb, job);
    json_raw(&jb, ",\"oom_killed\":%s,\"oom_kill_count\":%llu,\"timed_out\":%s,\"stragglers_killed\":%d",
             json_bool(job->oom_kill_count > 0), (unsigned long long)job->oom_kill_count,
             json_bool(job->timed_out), job->stragglers_killed);
    json_raw(&jb, ",\"output_limit_exceeded\":%s", json_bool(job->output_limit_exceeded));
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
    if (job->has_swap_peak)
        json_raw(&jb, ",\"swap_peak_bytes\":%llu", (unsigned long long)job->swap_peak_bytes);
    else
        json_raw(&jb, ",\"swap_peak_bytes\":null");
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
    if (atomic_write_at(job->dir_fd, opts->job_dir, "exit.json", jb.data, jb.len, true) == 0) {
        unlinkat(job->dir_fd, RESERVE_NAME, 0);
        return 0;
    }
    /* Most often ENOSPC: the disk filled while the job ran. */
    return write_into_reserve(opts, job, jb.data, jb.len);
}
