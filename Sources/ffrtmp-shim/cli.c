#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "duration.h"

#define DEFAULT_GRACE_NS (10ULL * 1000000000ULL)
/* Longest file name the shim appends to a --cgroup or --job-dir path. */
#define LONGEST_SUFFIX sizeof("/memory.max_usage_in_bytes")

static const char usage_text[] =
    "usage: ffrtmp-shim --job-dir DIR [--cgroup CGDIR]... [--timeout SEC] [--grace SEC]\n"
    "                   [--sync-fd N] [--rmdir-cgroups] [--user UID:GID] [--pass-fd N]...\n"
    "                   [--max-output-bytes N] -- PROGRAM [ARGS...]\n";

__attribute__((noreturn, format(printf, 1, 2))) static void usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("ffrtmp-shim: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage_text, stderr);
    exit(SHIM_EXIT_USAGE);
}

static const char *value_of(int argc, char **argv, int i)
{
    if (i + 1 >= argc)
        usage_error("%s needs a value", argv[i]);
    return argv[i + 1];
}

static uint64_t seconds_value(const char *flag, const char *text)
{
    uint64_t ns;

    if (parse_seconds_ns(text, &ns) != 0)
        usage_error("%s: '%s' is not a number of seconds (like 30 or 2.5, at most ten years)",
                    flag, text);
    return ns;
}

static int fd_value(const char *flag, const char *text)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v > INT_MAX)
        usage_error("%s: '%s' is not a file descriptor number", flag, text);
    if (fcntl((int)v, F_GETFD) < 0)
        usage_error("%s: fd %ld is not open in the shim (pass it without CLOEXEC)", flag, v);
    return (int)v;
}

/* A decimal number without sign, spaces or overflow; strtoull alone takes " -1" as 2^64-1. */
static int parse_decimal(const char *text, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;

    if (text[0] == '\0' || strlen(text) > 20)
        return -1;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        if (v > (max - (unsigned long long)(*c - '0')) / 10)
            return -1;
        v = v * 10 + (unsigned long long)(*c - '0');
    }
    *out = v;
    return 0;
}

static void user_value(const char *text, struct shim_options *opts)
{
    char uid_text[24];
    const char *colon = strchr(text, ':');
    unsigned long long uid, gid;
    size_t n = colon ? (size_t)(colon - text) : 0;

    if (!colon || n == 0 || n >= sizeof uid_text)
        usage_error("--user: '%s' is not UID:GID (numbers; the caller resolves names)", text);
    memcpy(uid_text, text, n);
    uid_text[n] = '\0';
    /* (uid_t)-1 means "unchanged" to setresuid: never a job's user. */
    if (parse_decimal(uid_text, 0xfffffffeULL, &uid) != 0 || parse_decimal(colon + 1, 0xfffffffeULL, &gid) != 0)
        usage_error("--user: '%s' is not UID:GID (numbers below 4294967295)", text);
    opts->as_user = true;
    opts->uid = (uid_t)uid;
    opts->gid = (gid_t)gid;
}

static void check_path(const char *flag, const char *path)
{
    if (path[0] == '\0')
        usage_error("%s: the path is empty", flag);
    if (strlen(path) + LONGEST_SUFFIX >= PATH_MAX)
        usage_error("%s: the path is longer than %d bytes", flag, (int)(PATH_MAX - LONGEST_SUFFIX));
}

void cli_parse(int argc, char **argv, struct shim_options *opts)
{
    bool have_timeout = false, have_grace = false, have_separator = false;
    struct stat st;
    int i;

    memset(opts, 0, sizeof *opts);
    opts->sync_fd = -1;
    opts->grace_ns = DEFAULT_GRACE_NS;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (strcmp(arg, "--") == 0) {
            have_separator = true;
            i++;
            break;
        } else if (strcmp(arg, "--job-dir") == 0) {
            if (opts->job_dir)
                usage_error("--job-dir given twice");
            opts->job_dir = value_of(argc, argv, i++);
            check_path("--job-dir", opts->job_dir);
        } else if (strcmp(arg, "--cgroup") == 0) {
            if (opts->n_cgroups == SHIM_MAX_CGROUPS)
                usage_error("--cgroup given more than %d times", SHIM_MAX_CGROUPS);
            opts->cgroups[opts->n_cgroups] = value_of(argc, argv, i++);
            check_path("--cgroup", opts->cgroups[opts->n_cgroups]);
            opts->n_cgroups++;
        } else if (strcmp(arg, "--timeout") == 0) {
            if (have_timeout)
                usage_error("--timeout given twice");
            have_timeout = true;
            opts->timeout_ns = seconds_value(arg, value_of(argc, argv, i++));
            if (opts->timeout_ns == 0)
                usage_error("--timeout must be greater than 0 (leave it out for no timeout)");
        } else if (strcmp(arg, "--grace") == 0) {
            if (have_grace)
                usage_error("--grace given twice");
            have_grace = true;
            opts->grace_ns = seconds_value(arg, value_of(argc, argv, i++));
        } else if (strcmp(arg, "--sync-fd") == 0) {
            if (opts->sync_fd >= 0)
                usage_error("--sync-fd given twice");
            opts->sync_fd = fd_value(arg, value_of(argc, argv, i++));
        } else if (strcmp(arg, "--rmdir-cgroups") == 0) {
            opts->rmdir_cgroups = true;
        } else if (strcmp(arg, "--user") == 0) {
            if (opts->as_user)
                usage_error("--user given twice");
            user_value(value_of(argc, argv, i++), opts);
        } else if (strcmp(arg, "--pass-fd") == 0) {
            if (opts->n_pass_fds == SHIM_MAX_PASS_FDS)
                usage_error("--pass-fd given more than %d times", SHIM_MAX_PASS_FDS);
            int fd = fd_value(arg, value_of(argc, argv, i++));
            /* 0-2 become the workload's stdio and 3 is where --sync-fd usually lands. */
            if (fd <= 3)
                usage_error("--pass-fd %d: pass media files at fd 4 or above", fd);
            opts->pass_fds[opts->n_pass_fds++] = fd;
        } else if (strcmp(arg, "--max-output-bytes") == 0) {
            unsigned long long v;
            if (opts->max_output_bytes)
                usage_error("--max-output-bytes given twice");
            if (parse_decimal(value_of(argc, argv, i), 1ULL << 50, &v) != 0 || v == 0)
                usage_error("--max-output-bytes: '%s' is not a number of bytes from 1 to 2^50", argv[i + 1]);
            i++;
            opts->max_output_bytes = v;
        } else if (arg[0] == '-') {
            usage_error("unknown option '%s'", arg);
        } else {
            usage_error("unexpected argument '%s' (the workload goes after '--')", arg);
        }
    }

    if (!opts->job_dir)
        usage_error("--job-dir is required");
    for (int k = 0; k < opts->n_pass_fds; k++)
        if (opts->pass_fds[k] == opts->sync_fd)
            usage_error("--pass-fd %d is also the --sync-fd", opts->sync_fd);
    if (stat(opts->job_dir, &st) != 0)
        usage_error("--job-dir %s: %s", opts->job_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        usage_error("--job-dir %s: not a directory", opts->job_dir);
    /*
     * exit.json appearing is the signal that a job is over; a stale one would
     * announce the end of this job before it starts, and overwriting it would
     * lose an earlier job's record.
     */
    char record[PATH_MAX];
    snprintf(record, sizeof record, "%s/exit.json", opts->job_dir);
    if (lstat(record, &st) == 0)
        usage_error("--job-dir %s already holds exit.json from an earlier run; use a fresh job dir",
                    opts->job_dir);
    if (!have_separator)
        usage_error("missing '--' before the workload's PROGRAM");
    if (i >= argc || argv[i][0] == '\0')
        usage_error("missing PROGRAM after '--'");
    opts->argv = &argv[i];
}
