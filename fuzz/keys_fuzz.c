/* libFuzzer target: key specs, then a matcher over the rest, fed in pieces; no byte is lost
 * or made up: output plus matched sequences plus what is held equals the input. A second
 * matcher, fed one byte at a time and kept off the single-first-byte path, must pass on the
 * same bytes and report the same matches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define MAX_IN 4096

/* Feeds data in chunks of at most chunk; writes what passes into out, match indices as
 * bytes into matches. Returns the bytes passed on, or traps on a broken invariant. */
static size_t run(dp_matcher *m, const uint8_t *data, size_t size, size_t chunk,
		  unsigned char *out, unsigned char *matches, size_t *nmatches, size_t *matched)
{
	size_t pos = 0, total = 0;
	*nmatches = *matched = 0;
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk, out_len;
		int match;
		size_t used = dp_matcher_feed(m, data + pos, n, out + total, &out_len, &match);
		if (used == 0 || used > n || out_len > n + DP_KEYS_MAX)
			__builtin_trap();
		if (match >= 0) {
			matches[(*nmatches)++] = (unsigned char)match;
			*matched += m->len[match];
		}
		total += out_len;
		pos += used;
	}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char out1[MAX_IN + DP_KEYS_MAX], out2[MAX_IN + DP_KEYS_MAX];
	static unsigned char matches1[MAX_IN], matches2[MAX_IN];
	unsigned char seq[DP_KEYS_MAX], held[DP_KEYS_MAX];
	char bad[64];
	size_t split = size ? data[0] % 40 : 0, in_total, total1, total2, n1, n2, matched1, matched2;
	dp_matcher m1, m2;
	int len;

	if (split + 1 > size || size - split - 1 > MAX_IN)
		return 0;
	len = dp_keys_parse((const char *)data + 1, split, seq, bad, sizeof bad);
	if (len > DP_KEYS_MAX || (len < 0 && len != -1 && len != -2))
		__builtin_trap();
	dp_matcher_init(&m1);
	if (len > 0)
		dp_matcher_add(&m1, seq, (size_t)len);
	dp_matcher_add(&m1, (const unsigned char *)"\x10\x11", 2);
	m2 = m1;
	m2.first = -1;
	data += 1 + split;
	in_total = size - split - 1;

	total1 = run(&m1, data, in_total, 64, out1, matches1, &n1, &matched1);
	total2 = run(&m2, data, in_total, 1, out2, matches2, &n2, &matched2);
	if (total1 + matched1 + dp_matcher_flush(&m1, held) != in_total)
		__builtin_trap();
	if (total1 != total2 || n1 != n2 || memcmp(out1, out2, total1) != 0 ||
	    memcmp(matches1, matches2, n1) != 0)
		__builtin_trap();
	return 0;
}
