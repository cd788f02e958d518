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
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline int ffrtmp_become_user(uid_t uid, gid_t gid)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    struct __user_cap_header_struct head = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct caps[2];

    /*
     * Capabilities that would survive the uid change: ambient ones, and the securebits
     * (SECBIT_NO_SETUID_FIXUP, KEEP_CAPS) a caller may have set. EINVAL: a kernel before 4.3
     * has no ambient set. A caller that locked the securebits makes PR_SET_SECUREBITS fail:
     * then the job does not start (checked below, after the drop, in any case).
     */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return -1;
    if (prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) != 0 && prctl(PR_SET_SECUREBITS, 0, 0, 0, 0) != 0)
        return -1;
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
    /* A non-root job user holds no capability at all, whatever the caller had. */
    if (uid != 0) {
        if (syscall(SYS_capget, &head, caps) != 0)
            return -1;
        if (caps[0].permitted || caps[0].effective || caps[1].permitted || caps[1].effective) {
            errno = EPERM;
            return -1;
        }
    }
    return 0;
}

/*
 * The filesystem identity of the calling thread only (setfsuid/setfsgid and the thread's
 * groups are per-thread in the kernel; raw syscalls, so glibc does not broadcast them to the
 * process's other threads): path lookups and creates are then checked as the job's user,
 * with no groups. CAP_SETGID is not a filesystem capability, so the thread can restore its
 * groups afterwards. Returns 0 or -1 with errno; `saved` receives the old groups (at most
 * `cap`), `*n_saved` their count.
 */
static inline int ffrtmp_fs_enter(uid_t uid, gid_t gid, gid_t *saved, int cap, int *n_saved)
{
    long n = syscall(SYS_getgroups, cap, saved);

    if (n < 0)
        return -1;
    *n_saved = (int)n;
    if (syscall(SYS_setgroups, 0, (gid_t *)0) != 0)
        return -1;
    syscall(SYS_setfsgid, gid);
    syscall(SYS_setfsuid, uid);
    /* setfsuid/setfsgid return the old id and never fail loudly: read back what is in force. */
    if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != uid || (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != gid) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

static inline int ffrtmp_fs_leave(const gid_t *saved, int n_saved)
{
    syscall(SYS_setfsuid, geteuid());
    syscall(SYS_setfsgid, getegid());
    return (int)syscall(SYS_setgroups, n_saved, saved);
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
