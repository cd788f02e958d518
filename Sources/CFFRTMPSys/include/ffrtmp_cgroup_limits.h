/*
 * Constants both sides of a cgroup teardown use: the shim (C, which includes this file by
 * path) and the core (Swift, through CFFRTMPSys). One definition, so `ffrtmp kill`, the agent
 * and the shim give a busy cgroup the same time before they call it stuck.
 *
 * rmdir of a cgroup that just lost its last task can fail with EBUSY for a moment (v1 css
 * offlining is asynchronous; measured on Linux 6.18: at most ~4 ms after a group SIGKILL of a
 * leader and four 8 MiB children, 43 of 100 runs): 50 tries 10 ms apart cover that many times over.
 */
#ifndef FFRTMP_CGROUP_LIMITS_H
#define FFRTMP_CGROUP_LIMITS_H

#define FFRTMP_RMDIR_EBUSY_RETRIES 50
#define FFRTMP_RMDIR_EBUSY_PAUSE_MS 10

/* The exit.json format both writers produce and every reader accepts (docs/ARCHITECTURE.md). */
#define FFRTMP_EXIT_RECORD_VERSION 1

#endif
