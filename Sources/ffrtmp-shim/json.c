#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void json_init(struct json_buf *jb, char *data, size_t cap)
{
    jb->data = data;
    jb->cap = cap;
    jb->len = 0;
    jb->overflow = false;
    if (cap > 0)
        data[0] = '\0';
}

void json_raw(struct json_buf *jb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (jb->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(jb->data + jb->len, jb->cap - jb->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= jb->cap - jb->len) {
        jb->overflow = true;
        return;
    }
    jb->len += (size_t)n;
}

static void put_bytes(struct json_buf *jb, const char *s, size_t n)
{
    if (jb->overflow)
        return;
    if (n >= jb->cap - jb->len) {
        jb->overflow = true;
        return;
    }
    memcpy(jb->data + jb->len, s, n);
    jb->len += n;
    jb->data[jb->len] = '\0';
}

/*
 * Length of the well-formed UTF-8 sequence at S (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0 when the lead byte starts none.
 */
static size_t utf8_sequence_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t need, i;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;

    for (i = 1; i <= need; i++) {
        unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xBF;
        if (s[i] < lo_i || s[i] > hi_i)
            return 0;
    }
    return need + 1;
}

void json_string(struct json_buf *jb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    put_bytes(jb, "\"", 1);
    while (*p) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = { '\\', (char)*p };
            put_bytes(jb, esc, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            json_raw(jb, "\\u%04x", *p);
            p++;
        } else {
            size_t n = utf8_sequence_len(p);
            if (n == 0) {
                put_bytes(jb, "\\ufffd", 6);
                p++;
            } else {
                put_bytes(jb, (const char *)p, n);
                p += n;
            }
        }
    }
    put_bytes(jb, "\"", 1);
}
