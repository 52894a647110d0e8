/* utf8.c — replacing ill-formed UTF-8 (see utf8.h). */
#include "core/utf8.h"
#include "core/util.h"

#include <string.h>

/* Length of the well-formed character at s[0..len), or 0 when it is ill-formed; then *bad is the
 * length of its maximal ill-formed subpart (at least 1). */
static size_t char_len(const unsigned char *s, size_t len, size_t *bad)
{
	unsigned char b = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		need = 2;
	else if (b >= 0xE0 && b <= 0xEF) {
		need = 3;
		if (b == 0xE0)
			lo = 0xA0; /* overlong */
		if (b == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 4;
		if (b == 0xF0)
			lo = 0x90; /* overlong */
		if (b == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i < need; i++) {
		unsigned char c = i < len ? s[i] : 0;
		unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
		if (i >= len || c < l || c > h) {
			*bad = i;
			return 0;
		}
	}
	return need;
}

char *utf8_clean(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out = xmalloc(3 * len + 1); /* each bad byte becomes at most 3 */
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t bad = 0, n = char_len(u + i, len - i, &bad);
		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i += bad;
		}
	}
	out[o] = '\0';
	return out;
}

size_t utf8_cut(const char *s, size_t max)
{
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}
