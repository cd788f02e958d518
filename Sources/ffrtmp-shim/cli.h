/*
 * The shim's command line. It is argv-only (no shell, no config file) and
 * parsed strictly: the caller is a program, so anything unexpected is a bug
 * on the caller's side and is refused with exit status 2 rather than guessed at.
 *
 *   ffrtmp-shim --job-dir DIR [--cgroup CGDIR]... [--timeout SEC] [--grace SEC]
 *               [--sync-fd N] [--rmdir-cgroups] -- PROGRAM [ARGS...]
 */
#ifndef FFRTMP_SHIM_CLI_H
#define FFRTMP_SHIM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define SHIM_MAX_CGROUPS 16
#define SHIM_EXIT_USAGE 2

struct shim_options {
    const char *job_dir;
    const char *cgroups[SHIM_MAX_CGROUPS];
    int n_cgroups;
    uint64_t timeout_ns; /* 0 = no timeout */
    uint64_t grace_ns;
    int sync_fd; /* -1 = none */
    bool rmdir_cgroups;
    char **argv; /* the workload's argv, NULL-terminated (a tail of main's argv) */
};

/* Fills OPTS or prints why not on stderr and exits with SHIM_EXIT_USAGE. */
void cli_parse(int argc, char **argv, struct shim_options *opts);

#endif
