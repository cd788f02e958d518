#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "file_io.h"
#include "shim_log.h"

#include "../CFFRTMPSys/include/ffrtmp_cgroup_limits.h"
#define EBUSY_RETRIES FFRTMP_RMDIR_EBUSY_RETRIES
#define EBUSY_PAUSE_NS (FFRTMP_RMDIR_EBUSY_PAUSE_MS * 1000 * 1000ULL)

/* Absent is normal (the file belongs to another hierarchy or version); anything else is logged. */
static bool read_cgroup_file(const char *dir, const char *name, char *path, char *buf, size_t cap)
{
    snprintf(path, PATH_MAX, "%s/%s", dir, name);
    if (read_small_file(path, buf, cap) >= 0)
        return true;
    if (errno != ENOENT)
        shim_log("%s: read: %s", path, strerror(errno));
    return false;
}

/* A file that is just one number (cpuacct.usage, memory.peak, ...). */
static bool read_number(const char *dir, const char *name, uint64_t *out)
{
    char path[PATH_MAX], buf[64];
    char *end;

    if (!read_cgroup_file(dir, name, path, buf, sizeof buf))
        return false;
    errno = 0;
    *out = strtoull(buf, &end, 10);
    if (errno != 0 || end == buf || (*end != '\n' && *end != '\0')) {
        shim_log("%s: expected one number, found '%.32s'", path, buf);
        return false;
    }
    return true;
}

/* A "key value" per line file (cpu.stat, memory.events, memory.oom_control). */
static bool read_keyed(const char *dir, const char *name, const char *key, uint64_t *out)
{
    char path[PATH_MAX], buf[4096];
    size_t key_len = strlen(key);
    char *line, *end;

    if (!read_cgroup_file(dir, name, path, buf, sizeof buf))
        return false;
    for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, key_len) != 0 || line[key_len] != ' ')
            continue;
        errno = 0;
        *out = strtoull(line + key_len + 1, &end, 10);
        if (errno == 0 && end != line + key_len + 1)
            return true;
        shim_log("%s: unreadable '%s' line", path, key);
        return false;
    }
    /* v1 cpu.stat exists but has no usage_usec: not an error, just not this dir. */
    return false;
}

static bool cgroup_cpu_ns(const struct shim_options *opts, uint64_t *out)
{
    uint64_t usec;

    for (int i = 0; i < opts->n_cgroups; i++) {
        if (read_number(opts->cgroups[i], "cpuacct.usage", out))
            return true;
        /* v2 keeps usage_usec in cpu.stat even with no cpu controller enabled. */
        if (read_keyed(opts->cgroups[i], "cpu.stat", "usage_usec", &usec)) {
            *out = usec * 1000;
            return true;
        }
    }
    return false;
}

static bool cgroup_peak_bytes(const struct shim_options *opts, uint64_t *out)
{
    for (int i = 0; i < opts->n_cgroups; i++) {
        if (read_number(opts->cgroups[i], "memory.max_usage_in_bytes", out))
            return true;
        /* memory.peak exists only since Linux 5.19. */
        if (read_number(opts->cgroups[i], "memory.peak", out))
            return true;
    }
    return false;
}

/* v2 memory.swap.peak (Linux 6.5+); v1 keeps no swap-only peak. */
static bool cgroup_swap_peak_bytes(const struct shim_options *opts, uint64_t *out)
{
    for (int i = 0; i < opts->n_cgroups; i++)
        if (read_number(opts->cgroups[i], "memory.swap.peak", out))
            return true;
    return false;
}

static bool cgroup_oom_kills(const struct shim_options *opts, uint64_t *out)
{
    for (int i = 0; i < opts->n_cgroups; i++) {
        if (read_keyed(opts->cgroups[i], "memory.oom_control", "oom_kill", out))
            return true;
        if (read_keyed(opts->cgroups[i], "memory.events", "oom_kill", out))
            return true;
    }
    return false;
}

static void note_kill_request(const struct shim_options *opts, struct job *job)
{
    ssize_t n = read_first_line_at(job->dir_fd, "kill-request", job->kill_request,
                                   sizeof job->kill_request);

    if (n >= 0)
        job->has_kill_request = true;
    else if (errno != ENOENT)
        shim_log("%s/kill-request: read: %s", opts->job_dir, strerror(errno));
}

void collect_usage(const struct shim_options *opts, struct job *job)
{
    bool cpu_from_cgroup, mem_from_cgroup;
    const struct rusage *ru = &job->rusage;

    if (job->dir_fd >= 0)
        note_kill_request(opts, job);
    if (job->pid == 0)
        return; /* nothing ran: usage_source stays "none" */

    cgroup_oom_kills(opts, &job->oom_kill_count);
    cpu_from_cgroup = cgroup_cpu_ns(opts, &job->cpu_usage_ns);
    mem_from_cgroup = cgroup_peak_bytes(opts, &job->peak_memory_bytes);
    job->has_swap_peak = cgroup_swap_peak_bytes(opts, &job->swap_peak_bytes);

    /* rusage covers only the workload and the descendants it reaped itself. */
    if (!cpu_from_cgroup)
        job->cpu_usage_ns = ((uint64_t)ru->ru_utime.tv_sec + (uint64_t)ru->ru_stime.tv_sec) *
                                1000000000ULL +
                            ((uint64_t)ru->ru_utime.tv_usec + (uint64_t)ru->ru_stime.tv_usec) * 1000ULL;
    if (!mem_from_cgroup)
        job->peak_memory_bytes = (uint64_t)ru->ru_maxrss * 1024ULL;

    if (cpu_from_cgroup && mem_from_cgroup)
        job->usage_source = USAGE_CGROUP;
    else if (!cpu_from_cgroup && !mem_from_cgroup)
        job->usage_source = USAGE_RUSAGE;
    else
        job->usage_source = USAGE_MIXED;
}

/* Pids listed in DIR/cgroup.procs, at most cap. Returns the count (0 when unreadable). */
static int cgroup_pids(const char *dir, pid_t *pids, int cap)
{
    char path[PATH_MAX], buf[8192];
    int n = 0;

    if (!read_cgroup_file(dir, "cgroup.procs", path, buf, sizeof buf))
        return 0;
    for (char *p = buf; *p && n < cap;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (v > 0)
            pids[n++] = (pid_t)v;
        p = *end ? end + 1 : end;
    }
    return n;
}

static void write_control(const char *dir, const char *name, const char *value)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            shim_log("%s: open: %s", path, strerror(errno));
        return;
    }
    if (write_all(fd, value, strlen(value)) != 0)
        shim_log("%s: write %s: %s", path, value, strerror(errno));
    close(fd);
}

int cgroup_members(const struct shim_options *opts)
{
    pid_t pids[1024];
    int most = 0;

    for (int i = 0; i < opts->n_cgroups; i++) {
        int n = cgroup_pids(opts->cgroups[i], pids, 1024);
        if (n > most)
            most = n;
    }
    return most;
}

void cgroup_kill_all(const struct shim_options *opts)
{
    pid_t pids[1024];
    char path[PATH_MAX];

    for (int i = 0; i < opts->n_cgroups; i++) {
        const char *dir = opts->cgroups[i];
        snprintf(path, sizeof path, "%s/cgroup.kill", dir);
        if (access(path, F_OK) == 0) {
            write_control(dir, "cgroup.kill", "1"); /* v2, Linux 5.14+: atomic, forks included */
            continue;
        }
        snprintf(path, sizeof path, "%s/cgroup.freeze", dir);
        if (access(path, F_OK) == 0) {
            /* v2 before 5.14: the same freeze, kill, thaw as the core's CgroupV2Driver.killAll. */
            write_control(dir, "cgroup.freeze", "1");
            int n = cgroup_pids(dir, pids, 1024);
            for (int k = 0; k < n; k++)
                kill(pids[k], SIGKILL);
            write_control(dir, "cgroup.freeze", "0");
            continue;
        }
        snprintf(path, sizeof path, "%s/freezer.state", dir);
        if (access(path, F_OK) == 0) {
            /*
             * v1: a frozen task cannot fork or escape while we list it, and
             * SIGKILL to a frozen task takes effect on THAWED (verified on
             * this kernel, see ENVIRONMENT.md), so: freeze, kill, thaw.
             */
            write_control(dir, "freezer.state", "FROZEN");
            int n = cgroup_pids(dir, pids, 1024);
            for (int k = 0; k < n; k++)
                kill(pids[k], SIGKILL);
            write_control(dir, "freezer.state", "THAWED");
        }
    }
    /* No freezer and no cgroup.kill: kill what is listed until nothing is. */
    for (int round = 0; round < 50 && cgroup_members(opts) > 0; round++) {
        for (int i = 0; i < opts->n_cgroups; i++) {
            int n = cgroup_pids(opts->cgroups[i], pids, 1024);
            for (int k = 0; k < n; k++)
                kill(pids[k], SIGKILL);
        }
        struct timespec pause = ns_to_timespec(EBUSY_PAUSE_NS);
        nanosleep(&pause, NULL);
    }
}

void reap_stragglers(const struct shim_options *opts, struct job *job)
{
    int left = cgroup_members(opts);

    if (left == 0 || job->pid == 0)
        return;
    /*
     * The job is its leader: once the leader is gone, anything still in the
     * job's cgroup (a child that called setsid, a daemonised helper) would
     * otherwise live on unsupervised in a cgroup nobody removes.
     */
    shim_log("workload ended with %d process(es) left in its cgroup: killing them", left);
    job->stragglers_killed = left;
    cgroup_kill_all(opts);
}

void remove_cgroups(const struct shim_options *opts)
{
    if (!opts->rmdir_cgroups)
        return;
    for (int i = 0; i < opts->n_cgroups; i++) {
        const char *dir = opts->cgroups[i];
        int attempt = 0;

        /*
         * A v1 cgroup can stay busy for a moment after the workload is
         * reaped: when a timeout or a forwarded signal kills the whole group,
         * the leader is reaped while its children are still exiting (tearing
         * down their memory). Measured on Linux 6.18 with a leader plus four
         * 8 MiB children SIGKILLed together: rmdir of the v1 memory cgroup
         * right after wait4 got EBUSY in 43 of 100 runs, for at most ~4 ms;
         * a lone workload gave no EBUSY in 2100 rmdirs. 20 x 10 ms covers
         * that; stragglers were already killed by reap_stragglers.
         */
        while (rmdir(dir) != 0) {
            if (errno == ENOENT)
                break;
            if (errno != EBUSY || ++attempt > EBUSY_RETRIES) {
                shim_log("%s: rmdir: %s%s", dir, strerror(errno),
                         errno == EBUSY ? " (still has tasks; left in place)" : "");
                break;
            }
            struct timespec pause = ns_to_timespec(EBUSY_PAUSE_NS);
            nanosleep(&pause, NULL);
        }
    }
}
