/* libFuzzer target: asciicast events (dp_cast_event). Whatever the bytes and wherever they
 * are cut in two, the text is the same as in one piece, within its bound, and holds no raw
 * control byte nor an unescaped quote. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* The text between the third quote and the closing "]\n". */
static const char *text_of(const char *line, size_t len, size_t *tlen)
{
	const char *p = memchr(line, '"', len);
	p = memchr(p + 1, '"', len - (size_t)(p + 1 - line));
	p = memchr(p + 1, '"', len - (size_t)(p + 1 - line)) + 1;
	*tlen = len - (size_t)(p - line) - 3;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char c1[4], c2[4];
	size_t l1 = 0, l2 = 0, k = size ? data[0] % (size + 1) : 0, n, a, b, ta, tb, tc, i;
	char *whole = malloc(DP_CAST_MAX(size)), *x = malloc(DP_CAST_MAX(size)), *y = malloc(DP_CAST_MAX(size));
	const char *tw, *tx, *ty;

	if (!whole || !x || !y)
		abort();
	n = dp_cast_event(whole, 1.0, 'o', (const char *)data, size, c1, &l1);
	a = dp_cast_event(x, 1.0, 'o', (const char *)data, k, c2, &l2);
	b = dp_cast_event(y, 2.0, 'o', (const char *)data + k, size - k, c2, &l2);
	if (n > DP_CAST_MAX(size) || a > DP_CAST_MAX(size) || b > DP_CAST_MAX(size))
		__builtin_trap();
	tw = text_of(whole, n, &tc);
	tx = text_of(x, a, &ta);
	ty = text_of(y, b, &tb);
	if (ta + tb != tc || memcmp(tx, tw, ta) != 0 || memcmp(ty, tw + ta, tb) != 0)
		__builtin_trap();
	if (l1 != l2 || memcmp(c1, c2, l1) != 0)
		__builtin_trap();
	for (i = 0; i < tc; i++) {
		if ((unsigned char)tw[i] < 0x20)
			__builtin_trap();
		if (tw[i] == '\\')
			i++; /* an escape: the next byte is its letter */
		else if (tw[i] == '"')
			__builtin_trap();
	}
	free(whole);
	free(x);
	free(y);
	return 0;
}
