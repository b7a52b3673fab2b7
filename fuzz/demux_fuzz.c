/* libFuzzer target: the frame demultiplexer, fed the input in pieces whose sizes the input picks. */
#include <stdint.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dp_demux d;
	size_t pos = 1, total_out = 0;
	unsigned step = size ? data[0] % 17 + 1 : 1;

	dp_demux_init(&d);
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step, used = 0;
		while (used < n) {
			const char *out;
			size_t out_len;
			int type;
			size_t k = dp_demux_next(&d, (const char *)data + pos + used, n - used, &out, &out_len, &type);
			if (k == (size_t)-1)
				return 0;
			if (k == 0 && out_len == 0 && used < n)
				__builtin_trap(); /* no progress */
			if (out_len && (out < (const char *)data + pos + used ||
					out + out_len > (const char *)data + pos + n || type < 0 || type > 3))
				__builtin_trap();
			total_out += out_len;
			used += k;
		}
		pos += n;
	}
	if (total_out > size)
		__builtin_trap();
	return 0;
}
