/*
 * Everything one shim run learns about its one job, filled in phase by phase
 * and turned into exit.json at the end. Phases after a failed one see
 * spawn_stage != STAGE_NONE and step aside, so a failure is recorded once.
 */
#ifndef FFRTMP_SHIM_JOB_H
#define FFRTMP_SHIM_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

enum spawn_stage {
    STAGE_NONE = 0,
    STAGE_OPEN,
    STAGE_CGROUP,
    STAGE_SETPGID,
    STAGE_STDIO,
    STAGE_EXEC,
    STAGE_FORK,
    STAGE_USER, /* becoming --user, or setting the output limit */
};

enum usage_source { USAGE_NONE, USAGE_CGROUP, USAGE_RUSAGE, USAGE_MIXED };

#define KILL_REQUEST_MAX 512

struct job {
    int dir_fd;    /* the job dir, held open for openat and the final dir fsync */
    int signal_fd; /* SIGCHLD/TERM/INT/QUIT, blocked before fork */

    pid_t pid; /* 0 until forked */
    unsigned long long pid_start_time;
    pid_t pgid;
    bool running; /* exec succeeded */
    int born_in_cgroup; /* started by clone3(CLONE_INTO_CGROUP): no join before exec */
    bool reaped;
    bool status_known; /* wait4 returned this child's status (not ECHILD) */
    int wait_status;
    struct rusage rusage;

    enum spawn_stage spawn_stage;
    int spawn_errno;

    bool timed_out;
    bool output_limit_exceeded; /* --max-output-bytes reached (watch or SIGXFSZ) */
    uint64_t bytes_written;     /* the workload's wchar at its last sample */
    int stragglers_killed; /* left in the cgroup after the leader ended */
    int forwarded_signal; /* 0 = none */

    int64_t started_at_unix_ns, ended_at_unix_ns;
    int64_t started_mono_ns, ended_mono_ns;

    uint64_t cpu_usage_ns;
    uint64_t peak_memory_bytes;
    uint64_t swap_peak_bytes;
    bool has_swap_peak;
    uint64_t oom_kill_count;
    enum usage_source usage_source;

    bool has_kill_request;
    char kill_request[KILL_REQUEST_MAX + 1];
};

void job_init(struct job *job);
/* Records the first failure only: later stages fail as a consequence of it. */
void job_fail(struct job *job, enum spawn_stage stage, int err);
bool job_failed(const struct job *job);
void job_mark_started(struct job *job);
void job_mark_ended(struct job *job);
const char *spawn_stage_name(enum spawn_stage stage);
const char *usage_source_name(enum usage_source source);

#endif
