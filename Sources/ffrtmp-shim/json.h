/*
 * A bounded JSON text builder into a caller's buffer: exit.json is one small
 * object, so no allocator and no library. Overflow is sticky and reported once
 * at the end instead of being checked after every field.
 */
#ifndef FFRTMP_SHIM_JSON_H
#define FFRTMP_SHIM_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct json_buf {
    char *data;
    size_t cap;
    size_t len;
    bool overflow;
};

void json_init(struct json_buf *jb, char *data, size_t cap);
__attribute__((format(printf, 2, 3))) void json_raw(struct json_buf *jb, const char *fmt, ...);
/*
 * Appends S as a JSON string literal. Quote and backslash are escaped, control
 * characters become \u00XX, and bytes that are not valid UTF-8 become \ufffd,
 * because a kill-request file is operator text and may hold anything.
 */
void json_string(struct json_buf *jb, const char *s);

#endif
