/*
 * ffrtmp-testload: a small, deterministic workload for the project's tests.
 * Each mode does one thing a transcode can do to its supervisor (exit with a
 * code, burn CPU, allocate memory, die by a signal, escape its process group,
 * write output) so a test can assert on exactly that.
 *
 *   exit N | sleep SEC [CODE] | spin SEC | alloc MB [HOLD_SEC] | signal SIG
 *   escape SEC [PSEC] | stubborn SEC | cat FILE | print N | drip N SEC
 *
 * Run under the name "stubborn-ffmpeg" (a symlink), whatever its arguments, it is an engine
 * that ignores SIGTERM and sleeps 120 s: an agent's FFMPEG_PATH for tests of the kill's grace
 * period and its escalation.
 *
 * Bad usage exits 64 (EX_USAGE), so it cannot be mistaken for a mode's result.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 64

static const char usage_text[] =
    "usage: ffrtmp-testload MODE [ARGS]\n"
    "  exit N               exit with status N (0-255)\n"
    "  sleep SEC [CODE]     sleep SEC seconds (decimal ok), then exit CODE (default 0)\n"
    "  spin SEC             busy-loop SEC seconds of wall time, print cpu_ms=X wall_ms=Y\n"
    "  alloc MB [HOLD_SEC]  allocate and touch MB MiB, print 'allocated MB', hold, exit 0\n"
    "  signal SIG           die by signal number SIG\n"
    "  escape SEC [PSEC]    fork a child that calls setsid and ignores SIGTERM; it sleeps SEC,\n"
    "                       the parent PSEC (default SEC)\n"
    "  stubborn SEC         ignore SIGTERM and sleep SEC\n"
    "  cat FILE             copy FILE to stdout\n"
    "  drip N SEC           write N lines to stderr, then one every SEC until killed\n"
    "  print N              print 'line 1'..'line N' to stdout and 'err 1'..'err N' to stderr\n";

__attribute__((noreturn, format(printf, 1, 2))) static void usage(const char *fmt, ...)
{
    va_list ap;

    fputs("ffrtmp-testload: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage_text, stderr);
    exit(EXIT_USAGE);
}

static long whole_arg(const char *what, const char *text, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        usage("%s: '%s' is not a whole number in %ld..%ld", what, text, min, max);
    return v;
}

static double seconds_arg(const char *what, const char *text)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    /* The comparison is false for NaN, so NaN is refused too. */
    if (text[0] == '\0' || *end != '\0' || errno != 0 || !(v >= 0 && v <= 1e7))
        usage("%s: '%s' is not a number of seconds", what, text);
    return v;
}

static void need_args(int argc, int min, int max, const char *mode)
{
    if (argc - 2 < min || argc - 2 > max)
        usage("%s: wrong number of arguments", mode);
}

/* nanosleep resumes after a stopped-and-continued or signalled (but not killed) wait. */
static void sleep_seconds(double sec)
{
    struct timespec ts = { .tv_sec = (time_t)sec, .tv_nsec = (long)((sec - (double)(time_t)sec) * 1e9) };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int mode_spin(double sec)
{
    int64_t start = now_ns(CLOCK_MONOTONIC), until = start + (int64_t)(sec * 1e9), now;
    volatile uint64_t sink = 0;

    do {
        for (int i = 0; i < 10000; i++)
            sink += (uint64_t)i;
        now = now_ns(CLOCK_MONOTONIC);
    } while (now < until);
    printf("cpu_ms=%lld wall_ms=%lld\n", (long long)(now_ns(CLOCK_PROCESS_CPUTIME_ID) / 1000000),
           (long long)((now - start) / 1000000));
    return 0;
}

static char *volatile allocation;

static int mode_alloc(long mb, double hold)
{
    size_t size = (size_t)mb * 1024 * 1024;
    char *p = malloc(size ? size : 1);

    if (!p) {
        fprintf(stderr, "ffrtmp-testload: alloc %ld MiB: %s\n", mb, strerror(errno));
        return 1;
    }
    /* Non-zero fill: every page is written, so every page is really charged. */
    memset(p, 0xA5, size);
    /*
     * Publishing the buffer through a volatile global keeps gcc -O2 from
     * proving the memset dead and dropping it with the malloc (it did: the
     * cgroup saw 0 bytes charged).
     */
    allocation = p;
    printf("allocated %ld\n", mb);
    fflush(stdout);
    sleep_seconds(hold);
    allocation = NULL;
    free(p);
    return 0;
}

static int mode_signal(long sig)
{
    struct sigaction dfl;
    sigset_t set;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    if (sig != SIGKILL && sig != SIGSTOP)
        sigaction((int)sig, &dfl, NULL);
    sigemptyset(&set);
    sigaddset(&set, (int)sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    fflush(NULL);
    raise((int)sig);
    /* Reached for signals whose default is to ignore (SIGCHLD) or stop-then-continue. */
    fprintf(stderr, "ffrtmp-testload: signal %ld did not terminate the process\n", sig);
    return 1;
}

static int mode_escape(double sec, double parent_sec)
{
    sigset_t term, old;

    /* Held off across fork so a TERM aimed at the group cannot take the child before it ignores it. */
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    fflush(stdout); /* or the child would print the parent's buffered output again */
    /* The parent leaves only once the child has escaped and said so: without this, a loaded
     * box could run the parent's exit (and the supervisor's straggler kill) first. */
    int ready[2];
    if (pipe(ready) != 0) {
        fprintf(stderr, "ffrtmp-testload: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork();

    if (pid != 0)
        sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        fprintf(stderr, "ffrtmp-testload: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        /* Leaves the process group, so kill(-pgid) misses it; only a cgroup-wide kill gets it. */
        if (setsid() < 0)
            fprintf(stderr, "ffrtmp-testload: setsid: %s\n", strerror(errno));
        signal(SIGTERM, SIG_IGN);
        sigprocmask(SIG_SETMASK, &old, NULL);
        printf("escaped %d\n", (int)getpid());
        fflush(stdout);
        close(ready[0]);
        if (write(ready[1], "e", 1) != 1)
            fprintf(stderr, "ffrtmp-testload: cannot tell the parent: %s\n", strerror(errno));
        close(ready[1]);
        sleep_seconds(sec);
        return 0;
    }
    close(ready[1]);
    char c;
    while (read(ready[0], &c, 1) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    printf("parent %d\n", (int)getpid());
    fflush(stdout);
    sleep_seconds(parent_sec);
    return 0;
}

/* Ignores SIGTERM (only SIGKILL ends it early): proves a grace period escalates. */
static int mode_stubborn(double sec)
{
    signal(SIGTERM, SIG_IGN);
    printf("stubborn %d\n", (int)getpid());
    fflush(stdout);
    sleep_seconds(sec);
    return 0;
}

static int mode_cat(const char *path)
{
    char buf[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        fprintf(stderr, "ffrtmp-testload: %s: %s\n", path, strerror(errno));
        return 1;
    }
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "ffrtmp-testload: %s: read: %s\n", path, strerror(errno));
            close(fd);
            return 1;
        }
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
            fprintf(stderr, "ffrtmp-testload: write: %s\n", strerror(errno));
            close(fd);
            return 1;
        }
    }
    close(fd);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int mode_print(long n)
{
    for (long i = 1; i <= n; i++) {
        printf("line %ld\n", i);
        fflush(stdout);
        fprintf(stderr, "err %ld\n", i);
        fflush(stderr);
    }
    return 0;
}

/* N lines to stderr at once, then one more every SEC until killed: a workload whose log grows. */
static int mode_drip(long n, double sec)
{
    long i = 1;
    for (; i <= n; i++)
        fprintf(stderr, "err %ld\n", i);
    fflush(stderr);
    for (;; i++) {
        sleep_seconds(sec);
        fprintf(stderr, "err %ld\n", i);
        fflush(stderr);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode;
    const char *name = strrchr(argv[0], '/');

    if (strcmp(name ? name + 1 : argv[0], "stubborn-ffmpeg") == 0)
        return mode_stubborn(120);
    if (argc < 2)
        usage("missing MODE");
    mode = argv[1];

    if (strcmp(mode, "exit") == 0) {
        need_args(argc, 1, 1, mode);
        return (int)whole_arg("exit N", argv[2], 0, 255);
    }
    if (strcmp(mode, "sleep") == 0) {
        need_args(argc, 1, 2, mode);
        double sec = seconds_arg("sleep SEC", argv[2]);
        int code = argc > 3 ? (int)whole_arg("sleep CODE", argv[3], 0, 255) : 0;
        sleep_seconds(sec);
        return code;
    }
    if (strcmp(mode, "spin") == 0) {
        need_args(argc, 1, 1, mode);
        return mode_spin(seconds_arg("spin SEC", argv[2]));
    }
    if (strcmp(mode, "alloc") == 0) {
        need_args(argc, 1, 2, mode);
        long mb = whole_arg("alloc MB", argv[2], 0, 1024L * 1024);
        double hold = argc > 3 ? seconds_arg("alloc HOLD_SEC", argv[3]) : 0;
        return mode_alloc(mb, hold);
    }
    if (strcmp(mode, "signal") == 0) {
        need_args(argc, 1, 1, mode);
        return mode_signal(whole_arg("signal SIG", argv[2], 1, SIGRTMAX));
    }
    if (strcmp(mode, "escape") == 0) {
        need_args(argc, 1, 2, mode);
        double sec = seconds_arg("escape SEC", argv[2]);
        return mode_escape(sec, argc > 3 ? seconds_arg("escape PARENT_SEC", argv[3]) : sec);
    }
    if (strcmp(mode, "stubborn") == 0) {
        need_args(argc, 1, 1, mode);
        return mode_stubborn(seconds_arg("stubborn SEC", argv[2]));
    }
    if (strcmp(mode, "cat") == 0) {
        need_args(argc, 1, 1, mode);
        return mode_cat(argv[2]);
    }
    if (strcmp(mode, "print") == 0) {
        need_args(argc, 1, 1, mode);
        return mode_print(whole_arg("print N", argv[2], 0, LONG_MAX));
    }
    if (strcmp(mode, "drip") == 0) {
        need_args(argc, 2, 2, mode);
        return mode_drip(whole_arg("drip N", argv[2], 0, LONG_MAX), seconds_arg("drip SEC", argv[3]));
    }
    usage("unknown mode '%s'", mode);
}
