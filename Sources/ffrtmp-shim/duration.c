#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "duration.h"

#define NS_PER_SEC 1000000000ULL
#define MAX_SECONDS (10ULL * 366 * 24 * 3600)

int parse_seconds_ns(const char *text, uint64_t *out_ns)
{
    const char *p = text;
    uint64_t whole = 0, frac = 0, scale = NS_PER_SEC;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (uint64_t)(*p - '0');
        if (whole > MAX_SECONDS)
            return -1;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(*p - '0') * scale;
            }
        }
    }
    if (*p != '\0')
        return -1;
    *out_ns = whole * NS_PER_SEC + frac;
    return 0;
}

int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;

    /* Cannot fail for the clocks we pass; a zero stamp would be visible in exit.json. */
    if (clock_gettime(clock, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * (int64_t)NS_PER_SEC + ts.tv_nsec;
}

struct timespec ns_to_timespec(uint64_t ns)
{
    struct timespec ts = {
        .tv_sec = (time_t)(ns / NS_PER_SEC),
        .tv_nsec = (long)(ns % NS_PER_SEC),
    };
    return ts;
}
