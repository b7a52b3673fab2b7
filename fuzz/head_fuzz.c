/* libFuzzer target: the HTTP response head parser, and the field scanner, on any bytes. */
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dp_head h;
	long n = dp_head_parse((const char *)data, size, &h);
	if (n > 0 && ((size_t)n > size || (size_t)n > DP_HEAD_MAX || h.status < 0 || h.status > 999))
		__builtin_trap();
	if (n > 0 && memchr(h.content_type, 0, sizeof h.content_type) == NULL)
		__builtin_trap();
	/* the fields, as the transport reads them from libcurl's copy of a head: all in bounds */
	{
		size_t pos = 0, last = 0;
		dp_field f;
		while (dp_head_field((const char *)data, size, &pos, &f)) {
			const char *end = (const char *)data + size;
			if (pos <= last || pos > size || f.name_len == 0 || f.name < (const char *)data ||
			    f.name + f.name_len > end || f.value < f.name || f.value + f.value_len > end)
				__builtin_trap();
			last = pos;
		}
	}
	return 0;
}
