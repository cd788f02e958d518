#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "shim_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

void shim_log(const char *fmt, ...)
{
    char line[1024];
    struct timespec now;
    struct tm tm;
    int saved_errno = errno;
    size_t len;
    int n;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    len = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line + len, sizeof line - len, ".%03ldZ ffrtmp-shim[%d]: ",
                 now.tv_nsec / 1000000, (int)getpid());
    if (n > 0)
        len += (size_t)n;

    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    if (n > 0)
        len += (size_t)n;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';

    /* One write per line: O_APPEND keeps concurrent writers' lines whole. */
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
    errno = saved_errno;
}
