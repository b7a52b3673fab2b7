/* The demultiplexer for non-tty streams: frames in, payload slices out, split anywhere. */
#include <string.h>

#include "proto.h"

void dp_demux_init(dp_demux *d)
{
	memset(d, 0, sizeof *d);
}

size_t dp_demux_next(dp_demux *d, const char *in, size_t n, const char **out, size_t *out_len,
		     int *type)
{
	size_t used = 0;

	*out = NULL;
	*out_len = 0;
	while (used < n) {
		if (d->remaining > 0) {
			size_t take = n - used < d->remaining ? n - used : d->remaining;
			*out = in + used;
			*out_len = take;
			*type = d->type;
			d->remaining -= take;
			return used + take;
		}
		while (d->have < 8 && used < n)
			d->head[d->have++] = (unsigned char)in[used++];
		if (d->have < 8)
			break;
		if (d->head[0] > DP_SYSERR || d->head[1] || d->head[2] || d->head[3])
			return (size_t)-1;
		d->type = d->head[0];
		d->remaining = (size_t)d->head[4] << 24 | (size_t)d->head[5] << 16 |
			       (size_t)d->head[6] << 8 | d->head[7];
		d->have = 0;
	}
	return used;
}
