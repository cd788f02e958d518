/*
 * The shim's own diagnostics. They go to fd 2: before detach that is the
 * caller's stderr, after detach it is JOBDIR/shim.log (O_APPEND), so the same
 * call serves both and nothing is lost if detaching itself fails.
 */
#ifndef FFRTMP_SHIM_LOG_H
#define FFRTMP_SHIM_LOG_H

__attribute__((format(printf, 1, 2))) void shim_log(const char *fmt, ...);

#endif
