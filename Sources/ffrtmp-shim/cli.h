/*
 * The shim's command line. It is argv-only (no shell, no config file) and
 * parsed strictly: the caller is a program, so anything unexpected is a bug
 * on the caller's side and is refused with exit status 2 rather than guessed at.
 *
 *   ffrtmp-shim --job-dir DIR [--cgroup CGDIR]... [--timeout SEC] [--grace SEC]
 *               [--sync-fd N] [--rmdir-cgroups] [--user UID:GID] [--pass-fd N]...
 *               [--max-output-bytes N] -- PROGRAM [ARGS...]
 *
 * --user is numeric: the caller resolves names (the shim is static, and static glibc has no NSS).
 */
#ifndef FFRTMP_SHIM_CLI_H
#define FFRTMP_SHIM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/types.h>

#define SHIM_MAX_CGROUPS 16
#define SHIM_MAX_PASS_FDS 8
#define SHIM_EXIT_USAGE 2

struct shim_options {
    const char *job_dir;
    const char *cgroups[SHIM_MAX_CGROUPS];
    int n_cgroups;
    uint64_t timeout_ns; /* 0 = no timeout */
    uint64_t grace_ns;
    int sync_fd; /* -1 = none */
    bool rmdir_cgroups;
    bool as_user; /* --user given: the workload drops to uid/gid before execve */
    uid_t uid;
    gid_t gid;
    int pass_fds[SHIM_MAX_PASS_FDS]; /* kept open (no CLOEXEC) into the workload */
    int n_pass_fds;
    uint64_t max_output_bytes; /* 0 = no limit: RLIMIT_FSIZE plus a watch on bytes written */
    char **argv; /* the workload's argv, NULL-terminated (a tail of main's argv) */
};

/* Fills OPTS or prints why not on stderr and exits with SHIM_EXIT_USAGE. */
void cli_parse(int argc, char **argv, struct shim_options *opts);

#endif
