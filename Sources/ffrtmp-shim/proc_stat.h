/*
 * Process start time from /proc/PID/stat (field 22, clock ticks since boot).
 * PID alone is recycled; PID + start time names one process for good, which
 * is what lets a caller that finds shim.pid or workload.pid after a restart
 * tell "still ours" from "someone else now has that number".
 */
#ifndef FFRTMP_SHIM_PROC_STAT_H
#define FFRTMP_SHIM_PROC_STAT_H

#include <sys/types.h>

/* pid 0 means the calling process. Returns 0 or -1 with errno set. */
int proc_start_time(pid_t pid, unsigned long long *out);

#endif
