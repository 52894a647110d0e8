/* utf8.h — text made valid UTF-8 before it is written: a model's answer may hold any bytes, and a
 * record or transcript line that is not valid UTF-8 is not valid JSON for the tools downstream. */
#ifndef LMNAS_UTF8_H
#define LMNAS_UTF8_H
#include <stddef.h>

/* A NUL-terminated copy of s[0..len) (to free) in which every ill-formed sequence is replaced by
 * U+FFFD, one per maximal ill-formed subpart (Unicode's recommended practice). Well-formed means
 * RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
char *utf8_clean(const char *s, size_t len);

/* The largest n <= max such that s[0..n) does not end inside a character: where to cut a snippet
 * of s, a valid UTF-8 string of at least max bytes (s[max] is read: it may be the final NUL). */
size_t utf8_cut(const char *s, size_t max);
#endif
