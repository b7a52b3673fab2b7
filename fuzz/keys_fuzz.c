/* libFuzzer target: key specs, then a matcher over the rest, fed in pieces; no byte is lost
 * or made up: output plus matched sequences plus what is held equals the input. */
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char seq[DP_KEYS_MAX], out[64 + DP_KEYS_MAX], held[DP_KEYS_MAX];
	char bad[64];
	size_t split = size ? data[0] % 40 : 0, pos, in_total, out_total = 0, matched = 0;
	dp_matcher m;
	int len;

	if (split + 1 > size)
		return 0;
	len = dp_keys_parse((const char *)data + 1, split, seq, bad, sizeof bad);
	if (len > DP_KEYS_MAX || (len < 0 && len != -1 && len != -2))
		__builtin_trap();
	dp_matcher_init(&m);
	if (len > 0)
		dp_matcher_add(&m, seq, (size_t)len);
	dp_matcher_add(&m, (const unsigned char *)"\x10\x11", 2);
	pos = 1 + split;
	in_total = size - pos;
	while (pos < size) {
		size_t n = size - pos < 64 ? size - pos : 64, out_len;
		int match;
		size_t used = dp_matcher_feed(&m, data + pos, n, out, &out_len, &match);
		if (used == 0 || used > n || out_len > n + DP_KEYS_MAX)
			__builtin_trap();
		if (match >= 0)
			matched += m.len[match];
		out_total += out_len;
		pos += used;
	}
	if (out_total + matched + dp_matcher_flush(&m, held) != in_total)
		__builtin_trap();
	return 0;
}
