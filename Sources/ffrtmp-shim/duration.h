/* Seconds as the CLI spells them, and the clocks the record is stamped with. */
#ifndef FFRTMP_SHIM_DURATION_H
#define FFRTMP_SHIM_DURATION_H

#include <stdint.h>
#include <time.h>

/*
 * Parses "N" or "N.F" (decimal seconds, up to 9 fraction digits honoured,
 * at most ten years) into nanoseconds. Hand-rolled rather than strtod so that
 * "inf", "0x10", " 5" and locale decimal commas are all rejected.
 * Returns 0 on success, -1 on malformed or out-of-range text.
 */
int parse_seconds_ns(const char *text, uint64_t *out_ns);

int64_t clock_ns(clockid_t clock);
struct timespec ns_to_timespec(uint64_t ns);

#endif
