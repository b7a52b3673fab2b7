/* asciicast v2 event lines, as `asciinema play` reads them: the gateway's recordings of
 * sessions are written with them, in the loop, without Lua. A pure part. */
#include <stdio.h>
#include <string.h>

#include "proto.h"

static const unsigned char REPLACEMENT[3] = {0xef, 0xbf, 0xbd}; /* U+FFFD */

/* The length of the valid UTF-8 sequence at p (n bytes there): 1 to 4, 0 when it is no
 * valid sequence, or -1 when it is the start of one cut off by the end. */
static int sequence(const unsigned char *p, size_t n)
{
	unsigned c = p[0], cp, min;
	int len, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, min = 0x80, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, min = 0x800, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	for (k = 1; k < len; k++) {
		if ((size_t)k >= n)
			return -1;
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
		cp = cp << 6 | (p[k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Appends the JSON-escaped text of p[0..n) at o; returns the new end. At most 6 bytes a byte. */
static char *escape(char *o, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < n) {
		int len = sequence(p + i, n - i);
		unsigned c = p[i];
		if (len <= 0) { /* -1 does not come here: the caller keeps a cut-off end apart */
			memcpy(o, REPLACEMENT, 3);
			o += 3;
			i++;
			continue;
		}
		if (len > 1) {
			memcpy(o, p + i, (size_t)len);
			o += len;
			i += (size_t)len;
			continue;
		}
		i++;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			*o++ = '\\', *o++ = 'n';
		} else if (c == '\r') {
			*o++ = '\\', *o++ = 'r';
		} else if (c == '\t') {
			*o++ = '\\', *o++ = 't';
		} else if (c < 0x20) {
			*o++ = '\\', *o++ = 'u', *o++ = '0', *o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	return o;
}

/* Where the valid text of p[0..n) ends: before the start of a sequence cut off at the end. */
static size_t whole_part(const unsigned char *p, size_t n)
{
	size_t back;
	for (back = 1; back <= 3 && back <= n; back++) {
		unsigned c = p[n - back];
		if (c < 0x80)
			return n;
		if (c >= 0xC0) /* a lead byte: cut off if its sequence needs more than is left */
			return sequence(p + n - back, back) == -1 ? n - back : n;
	}
	return n;
}

size_t dp_cast_event(char *out, double t, char code, const char *data, size_t n,
		     unsigned char carry[4], size_t *carry_len)
{
	const unsigned char *p = (const unsigned char *)data;
	char *o = out;
	size_t whole;

	o += snprintf(o, 64, "[%.6f, \"%c\", \"", t, code);
	if (*carry_len > 0) { /* the bytes kept from the last piece, then this one's first */
		unsigned char tmp[7];
		size_t tlen = *carry_len, i = 0, take = n < 3 ? n : 3;
		memcpy(tmp, carry, tlen);
		memcpy(tmp + tlen, p, take);
		tlen += take;
		while (i < *carry_len) {
			int len = sequence(tmp + i, tlen - i);
			if (len == -1) { /* still cut off: this piece was too short to end it */
				memmove(carry, tmp + i, tlen - i);
				*carry_len = tlen - i;
				memcpy(o, "\"]\n", 3);
				return (size_t)(o + 3 - out);
			}
			o = escape(o, tmp + i, len == 0 ? 1 : (size_t)len);
			i += len == 0 ? 1 : (size_t)len;
		}
		p += i - *carry_len;
		n -= i - *carry_len;
		*carry_len = 0;
	}
	whole = whole_part(p, n);
	o = escape(o, p, whole);
	if (whole < n) {
		memcpy(carry + *carry_len, p + whole, n - whole);
		*carry_len += n - whole;
	}
	memcpy(o, "\"]\n", 3);
	return (size_t)(o + 3 - out);
}
