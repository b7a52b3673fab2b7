/* The HTTP response head that answers an attach or exec start, before the raw stream. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

static int name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

long dp_head_parse(const char *buf, size_t len, dp_head *h)
{
	size_t end = 0, i, line;
	const char *p;

	/* Find the blank line that ends the head; lines end in CRLF, a bare LF is tolerated. */
	for (i = 0; i < len && !end; i++) {
		if (buf[i] != '\n')
			continue;
		if ((i >= 1 && buf[i - 1] == '\n') ||
		    (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n'))
			end = i + 1;
	}
	if (!end)
		return len > DP_HEAD_MAX || (len >= 5 && memcmp(buf, "HTTP/", 5) != 0) ? -1 : 0;
	if (end > DP_HEAD_MAX || end < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]))
		return -1;

	memset(h, 0, sizeof *h);
	h->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	h->content_length = -1;
	for (line = (size_t)((const char *)memchr(buf, '\n', end) - buf) + 1; line < end;) {
		size_t eol = line, colon, vs, ve;
		while (eol < end && buf[eol] != '\n')
			eol++;
		for (colon = line; colon < eol && buf[colon] != ':'; colon++)
			;
		if (colon < eol) {
			vs = colon + 1;
			ve = eol;
			while (vs < ve && (buf[vs] == ' ' || buf[vs] == '\t'))
				vs++;
			while (ve > vs && isspace((unsigned char)buf[ve - 1]))
				ve--;
			p = buf + line;
			if (name_is(p, colon - line, "content-length")) {
				long long v = 0;
				size_t k;
				if (vs == ve)
					return -1;
				for (k = vs; k < ve; k++) {
					if (!isdigit((unsigned char)buf[k]) || v > 1000000000000LL)
						return -1;
					v = v * 10 + (buf[k] - '0');
				}
				h->content_length = v;
			} else if (name_is(p, colon - line, "transfer-encoding")) {
				h->chunked = ve - vs >= 7 && strncasecmp(buf + ve - 7, "chunked", 7) == 0;
			} else if (name_is(p, colon - line, "content-type")) {
				size_t k = ve - vs < sizeof h->content_type - 1 ? ve - vs
									 : sizeof h->content_type - 1;
				memcpy(h->content_type, buf + vs, k);
				h->content_type[k] = '\0';
			}
		}
		line = eol + 1;
	}
	return (long)end;
}

int dp_head_field(const char *data, size_t len, size_t *pos, dp_field *f)
{
	size_t i = *pos;
	while (i < len) {
		size_t end = i, colon, vstart, vend;
		while (end < len && data[end] != '\n')
			end++;
		for (colon = i; colon < end && data[colon] != ':'; colon++)
			;
		*pos = end < len ? end + 1 : len;
		if (colon < end && colon > i && !(end - i >= 5 && memcmp(data + i, "HTTP/", 5) == 0)) {
			vstart = colon + 1;
			vend = end;
			while (vstart < vend && (data[vstart] == ' ' || data[vstart] == '\t'))
				vstart++;
			while (vend > vstart && (data[vend - 1] == '\r' || data[vend - 1] == ' ' ||
						 data[vend - 1] == '\t'))
				vend--;
			f->name = data + i;
			f->name_len = colon - i;
			f->value = data + vstart;
			f->value_len = vend - vstart;
			return 1;
		}
		i = *pos;
	}
	return 0;
}
