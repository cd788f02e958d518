/*
 * JOBDIR/exit.json: the one record of how the job ended. Daemons watch for
 * it, so it is written last (after usage and kill-request are in) and
 * atomically (exit.json.tmp, fsync, rename, fsync dir): its presence means
 * "the shim is done and this is final". One JSON object on one line, every
 * key always present, in a fixed order:
 *
 *   version pid pid_start_time pgid exit_code signal core_dumped oom_killed
 *   oom_kill_count timed_out stragglers_killed output_limit_exceeded
 *   forwarded_signal killed_by started_at_unix_ns ended_at_unix_ns duration_ns
 *   cpu_usage_ns peak_memory_bytes swap_peak_bytes usage_source spawn_error
 *
 * The Swift reader (Sources/FFRTMPCore/Journal/ExitRecord.swift) decodes these and
 * the keys only Swift writers add (detached, exit_unknown_reason, notes,
 * supervisor_lost); Tests/Fixtures/exit-record.v1.json holds one of each, and
 * ExitRecordFormatTests runs this shim and compares the key sets. A reader
 * refuses a version it does not know.
 */
#ifndef FFRTMP_SHIM_EXIT_RECORD_H
#define FFRTMP_SHIM_EXIT_RECORD_H

#include "cli.h"
#include "job.h"

#include "../CFFRTMPSys/include/ffrtmp_cgroup_limits.h"
#define EXIT_RECORD_VERSION FFRTMP_EXIT_RECORD_VERSION

/* Returns 0, or -1 when exit.json could not be written (the reason is in shim.log). */
int write_exit_record(const struct shim_options *opts, const struct job *job);

/*
 * Claims, once the workload has started, the disk space the record will need
 * (JOBDIR/exit.json.reserve): a job that ends while the state dir's disk is
 * full still gets its record, written into that space, instead of losing an
 * outcome that was known. A failure here is logged, never fatal.
 */
void reserve_exit_record(const struct shim_options *opts, const struct job *job);

#endif
