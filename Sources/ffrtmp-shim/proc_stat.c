#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "proc_stat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_io.h"

#define START_TIME_FIELD 22
/* Fields are counted from 1; the one after "(comm)" is field 3 (state). */
#define FIRST_FIELD_AFTER_COMM 3

int proc_start_time(pid_t pid, unsigned long long *out)
{
    char path[64], buf[1024];
    char *p, *end;
    int field;

    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/stat");
    else
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small_file(path, buf, sizeof buf) < 0)
        return -1;

    /* comm may itself contain ')' and spaces; only the last ')' ends it. */
    p = strrchr(buf, ')');
    if (!p) {
        errno = EPROTO;
        return -1;
    }
    p++;
    for (field = FIRST_FIELD_AFTER_COMM; field < START_TIME_FIELD; field++) {
        p = strchr(p + 1, ' ');
        if (!p) {
            errno = EPROTO;
            return -1;
        }
    }
    errno = 0;
    *out = strtoull(p + 1, &end, 10);
    if (errno != 0 || end == p + 1 || (*end != ' ' && *end != '\n' && *end != '\0')) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}
