#include "CNcursesw.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <langinfo.h>

// Signals for the console loop. The loop sleeps in poll() on the terminal and on a pipe;
// these handlers write to that pipe, so a resize or Ctrl-C wakes it at once even when idle.
// SIGWINCH is chained to ncurses' own handler (installed by initscr), which makes the next
// get_wch return KEY_RESIZE. A crash restores the terminal before the default action runs.
static volatile sig_atomic_t ffrtmp_stop_signal = 0;
static int ffrtmp_wake_fd = -1;
static struct sigaction ffrtmp_prev_winch;

static void ffrtmp_wake(void) {
    if (ffrtmp_wake_fd >= 0) { ssize_t n = write(ffrtmp_wake_fd, "w", 1); (void)n; }
}
static void ffrtmp_on_winch(int sig) {
    int saved = errno;
    if (!(ffrtmp_prev_winch.sa_flags & SA_SIGINFO) && ffrtmp_prev_winch.sa_handler != SIG_DFL
        && ffrtmp_prev_winch.sa_handler != SIG_IGN && ffrtmp_prev_winch.sa_handler != NULL)
        ffrtmp_prev_winch.sa_handler(sig);
    ffrtmp_wake();
    errno = saved;
}
static void ffrtmp_on_stop(int sig) {
    int saved = errno;
    ffrtmp_stop_signal = sig;
    ffrtmp_wake();
    errno = saved;
}
static void ffrtmp_on_crash(int sig) {
    endwin();
    signal(sig, SIG_DFL);
    raise(sig);
}
void ffrtmp_install_console_signals(int wake_fd) {
    struct sigaction sa;
    ffrtmp_wake_fd = wake_fd;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = ffrtmp_on_winch;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, &ffrtmp_prev_winch);
    sa.sa_handler = ffrtmp_on_stop;
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sa.sa_handler = ffrtmp_on_crash;
    sa.sa_flags = SA_RESETHAND;
    int crash[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
    for (unsigned i = 0; i < sizeof crash / sizeof crash[0]; i++) sigaction(crash[i], &sa, NULL);
}
void ffrtmp_wake_loop(void) { ffrtmp_wake(); }
int ffrtmp_console_stop_signal(void) { return ffrtmp_stop_signal; }
int ffrtmp_locale_is_utf8(void) {
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}
