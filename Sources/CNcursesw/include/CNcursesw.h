#ifndef FFRTMP_CNCURSESW_SHIM_H
#define FFRTMP_CNCURSESW_SHIM_H
// Wide-character ncurses for the console. These defines must come before the include,
// or get_wch/add_wch/cchar_t are not imported (ENVIRONMENT.md).
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include <locale.h>

// Function-like macros and globals Swift cannot import directly.
static inline WINDOW *ffrtmp_stdscr(void) { return stdscr; }
static inline int ffrtmp_lines(void) { return LINES; }
static inline int ffrtmp_cols(void) { return COLS; }
static inline attr_t ffrtmp_a_bold(void) { return A_BOLD; }
static inline attr_t ffrtmp_a_reverse(void) { return A_REVERSE; }
static inline attr_t ffrtmp_a_dim(void) { return A_DIM; }
static inline attr_t ffrtmp_a_underline(void) { return A_UNDERLINE; }
static inline attr_t ffrtmp_color_pair(int n) { return COLOR_PAIR(n); }
static inline int ffrtmp_key_f(int n) { return KEY_F(n); }
/// The terminal can move the cursor (terminfo "cup"): false for TERM=dumb.
static inline int ffrtmp_term_can_address(void) {
    char *cup = tigetstr("cup");
    return cup != NULL && cup != (char *)-1;
}


// Console signals (console_signals.c). The loop sleeps in poll() on the terminal and on a
// pipe; the handlers write to that pipe, so a resize or Ctrl-C wakes it at once even when
// idle. SIGWINCH is chained to ncurses' own handler (installed by initscr), which makes the
// next get_wch return KEY_RESIZE. A crash restores the terminal before the default action.
/// Call after initscr(). wake_fd: the write end of a non-blocking pipe.
void ffrtmp_install_console_signals(int wake_fd);
/// The signal (INT, TERM, HUP) that asked the console to stop, or 0.
int ffrtmp_console_stop_signal(void);
/// Wakes the loop from another thread (an action finished).
void ffrtmp_wake_loop(void);
int ffrtmp_locale_is_utf8(void);
#endif
