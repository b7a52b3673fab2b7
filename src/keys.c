/* Key sequences: docker's detach-key syntax, and a matcher that holds back partial matches. */
#include <string.h>
#include <strings.h>

#include "proto.h"

/* "ctrl-x" and "DEL" as docker spells them, in either case; anything else of more than one
 * character is an error. */
static int ctrl_code(const char *tok, size_t n)
{
	char c;

	if (n == 3 && strncasecmp(tok, "DEL", 3) == 0)
		return 127;
	if (n != 6 || strncasecmp(tok, "ctrl-", 5) != 0)
		return -1;
	c = tok[5];
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 1;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 1;
	switch (c) {
	case '@': return 0;
	case '[': return 27;
	case '\\': return 28;
	case ']': return 29;
	case '^': return 30;
	case '_': return 31;
	default: return -1;
	}
}

int dp_keys_parse(const char *spec, size_t spec_len, unsigned char *out, char *bad, size_t bad_len)
{
	size_t i = 0, len = 0;

	for (;;) {
		size_t start = i, n;
		int code;
		while (i < spec_len && spec[i] != ',')
			i++;
		n = i - start;
		code = n == 1 ? (unsigned char)spec[start] : ctrl_code(spec + start, n);
		if (len == DP_KEYS_MAX)
			return -2;
		if (code < 0) {
			size_t k = n < bad_len - 1 ? n : bad_len - 1;
			memcpy(bad, spec + start, k);
			bad[k] = '\0';
			return -1;
		}
		out[len++] = (unsigned char)code;
		if (i == spec_len)
			return (int)len;
		i++; /* the comma */
	}
}

void dp_matcher_init(dp_matcher *m)
{
	memset(m, 0, sizeof *m);
	m->first = -1;
}

int dp_matcher_add(dp_matcher *m, const unsigned char *seq, size_t len)
{
	if (m->count == DP_BINDINGS_MAX || len == 0 || len > DP_KEYS_MAX)
		return -1;
	memcpy(m->seq[m->count], seq, len);
	m->len[m->count] = len;
	m->starts[seq[0]] = 1;
	m->first = m->count == 0 || m->first == seq[0] ? seq[0] : -1;
	return (int)m->count++;
}

/* How many bytes from in[0..n) begin no binding. */
static size_t plain_run(const dp_matcher *m, const unsigned char *in, size_t n)
{
	size_t run = 0;
	if (m->count == 0)
		return n;
	if (m->first >= 0) {
		const unsigned char *hit = memchr(in, m->first, n);
		return hit ? (size_t)(hit - in) : n;
	}
	while (run < n && !m->starts[in[run]])
		run++;
	return run;
}

/* Whether held[] begins some binding. */
static int held_is_prefix(const dp_matcher *m)
{
	size_t i;
	for (i = 0; i < m->count; i++)
		if (m->len[i] > m->held_len && memcmp(m->seq[i], m->held, m->held_len) == 0)
			return 1;
	return 0;
}

size_t dp_matcher_feed(dp_matcher *m, const unsigned char *in, size_t n, unsigned char *out,
		       size_t *out_len, int *match)
{
	size_t used = 0;

	*out_len = 0;
	*match = -1;
	while (used < n) {
		size_t i, run;
		/* Nothing held: bytes that start no binding go straight through, in one copy. */
		if (m->held_len == 0) {
			run = plain_run(m, in + used, n - used);
			memcpy(out + *out_len, in + used, run);
			*out_len += run;
			used += run;
			if (used == n)
				break;
		}
		m->held[m->held_len++] = in[used++];
		/* The binding that ends first wins, even inside a longer one's partial match. */
		for (i = 0; i < m->count; i++) {
			size_t k = m->len[i];
			if (k <= m->held_len && memcmp(m->held + m->held_len - k, m->seq[i], k) == 0) {
				memcpy(out + *out_len, m->held, m->held_len - k);
				*out_len += m->held_len - k;
				m->held_len = 0;
				*match = (int)i;
				return used;
			}
		}
		/* A broken sequence gives back its first byte and tries again from the next one. */
		while (m->held_len > 0 && !held_is_prefix(m)) {
			out[(*out_len)++] = m->held[0];
			memmove(m->held, m->held + 1, --m->held_len);
		}
	}
	return used;
}

size_t dp_matcher_flush(dp_matcher *m, unsigned char *out)
{
	size_t n = m->held_len;
	memcpy(out, m->held, n);
	m->held_len = 0;
	return n;
}
