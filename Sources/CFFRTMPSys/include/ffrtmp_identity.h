#ifndef FFRTMP_IDENTITY_H
#define FFRTMP_IDENTITY_H
/*
 * Becoming the job's user between fork and execve. Shared, header-only, by the shim
 * (Sources/ffrtmp-shim/workload.c) and the agent's legacy spawn (ffrtmp_sys.c), so there is
 * one implementation of the drop. Only raw syscalls: the agent is a multithreaded Swift
 * process, and glibc's setuid() would try to broadcast the change to threads that do not
 * exist in the forked child; a raw syscall changes the calling (and only) thread.
 *
 * Order matters: supplementary groups first (setgroups needs CAP_SETGID, lost with the uid),
 * then the gid, then the uid. Once every uid is non-zero the kernel clears all capabilities
 * (no SECBIT_KEEP_CAPS is set). PR_SET_NO_NEW_PRIVS last, so no setuid binary the workload
 * may exec (sudo, a planted one) gets privileges back.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline int ffrtmp_become_user(uid_t uid, gid_t gid)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;

    if (syscall(SYS_setgroups, 0, (gid_t *)0) != 0)
        return -1;
    if (syscall(SYS_setresgid, gid, gid, gid) != 0)
        return -1;
    if (syscall(SYS_setresuid, uid, uid, uid) != 0)
        return -1;
    /* Belt and braces: a kernel or LSM that ignored the change must not run the job as root. */
    if (syscall(SYS_getresuid, &r, &e, &s) != 0 || r != uid || e != uid || s != uid ||
        syscall(SYS_getresgid, &gr, &ge, &gs) != 0 || gr != gid || ge != gid || gs != gid ||
        getgroups(0, (gid_t *)0) != 0) {
        errno = EPERM;
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return 0;
}

/*
 * RLIMIT_FSIZE: a write past this offset fails (SIGXFSZ, or EFBIG when ignored). Bounds any
 * single file the workload writes; the shim's byte watch bounds the total.
 */
static inline int ffrtmp_limit_file_size(unsigned long long bytes)
{
    struct rlimit rl = { .rlim_cur = (rlim_t)bytes, .rlim_max = (rlim_t)bytes };

    return setrlimit(RLIMIT_FSIZE, &rl);
}

#endif
