/* libFuzzer target: the HTTP response head parser on any bytes. */
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
	return 0;
}
