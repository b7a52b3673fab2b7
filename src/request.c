/* The HTTP request head the gateway reads, byte by byte as it arrives, and a request's path. */
#include <string.h>
#include <strings.h>

#include "proto.h"

enum {
	S_METHOD,
	S_TARGET0,
	S_TARGET,
	S_PCT1,
	S_PCT2,
	S_VERSION,
	S_RL_LF,
	S_LINE0,
	S_NAME,
	S_OWS,
	S_VALUE,
	S_LF,
	S_END_LF,
	S_DONE,
	S_ERROR,
};

int dp_http_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* pchar, '/' and '?' of RFC 3986 but for '%', which the caller checks with what follows */
static int is_target_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("-._~!$&'()*+,;=:@/?", c) != NULL);
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int fail(dp_request *r, int status, const char *reason)
{
	r->state = S_ERROR;
	r->status = status;
	r->reason = reason;
	return DP_REQ_ERROR;
}

void dp_request_init(dp_request *r, size_t max_head, size_t max_target, dp_req_field *fields,
		     size_t max_fields)
{
	memset(r, 0, sizeof *r);
	r->max_head = max_head;
	r->max_target = max_target;
	r->fields = fields;
	r->max_fields = fields ? max_fields : 0;
	r->content_length = -1;
	r->state = S_METHOD;
}

static int name_is(const char *buf, const dp_req_field *f, const char *name)
{
	return strlen(name) == f->name_len && strncasecmp(buf + f->name, name, f->name_len) == 0;
}

/* What a finished field means for the framing of the message, and the Host rules. */
static int field_done(dp_request *r, const char *buf)
{
	const dp_req_field *f = &r->fields[r->nfields++];
	const char *v = buf + f->value;
	size_t i;

	if (name_is(buf, f, "host")) {
		if (r->host_seen)
			return fail(r, 400, "more than one Host");
		r->host_seen = 1;
	} else if (name_is(buf, f, "content-length")) {
		long long n = 0;
		if (r->content_length >= 0)
			return fail(r, 400, "more than one Content-Length");
		if (f->value_len == 0 || f->value_len > 15)
			return fail(r, 400, "a bad Content-Length");
		for (i = 0; i < f->value_len; i++) {
			if (v[i] < '0' || v[i] > '9')
				return fail(r, 400, "a bad Content-Length");
			n = n * 10 + (v[i] - '0');
		}
		r->content_length = n;
	} else if (name_is(buf, f, "transfer-encoding")) {
		if (r->te_seen)
			return fail(r, 400, "more than one Transfer-Encoding");
		r->te_seen = 1;
		if (r->minor == 0)
			return fail(r, 400, "Transfer-Encoding in an HTTP/1.0 request");
		if (f->value_len != 7 || strncasecmp(v, "chunked", 7) != 0)
			return fail(r, 501, "a Transfer-Encoding other than chunked");
		r->chunked = 1;
	}
	if (r->te_seen && r->content_length >= 0)
		return fail(r, 400, "both Content-Length and Transfer-Encoding");
	return DP_REQ_MORE;
}

int dp_request_parse(dp_request *r, const char *buf, size_t len)
{
	size_t i;

	if (r->state == S_DONE)
		return DP_REQ_DONE;
	if (r->state == S_ERROR)
		return DP_REQ_ERROR;
	for (i = r->pos; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		dp_req_field *f = r->nfields < r->max_fields ? &r->fields[r->nfields] : NULL;

		if (i >= r->max_head)
			return r->state >= S_TARGET0 && r->state <= S_PCT2
				       ? fail(r, 414, "the target is too long")
				       : fail(r, 431, "the head is too large");
		switch (r->state) {
		case S_METHOD:
			if (dp_http_tchar(c))
				break;
			if (c != ' ' || i == 0)
				return fail(r, 400, "a bad request line");
			r->method_len = i;
			r->state = S_TARGET0;
			break;
		case S_TARGET0:
			if (c != '/')
				return fail(r, 400, "the target is not an absolute path");
			r->target = i;
			r->state = S_TARGET;
			break;
		case S_TARGET:
		case S_PCT1:
		case S_PCT2:
			if (r->state == S_TARGET && c == ' ') {
				r->target_len = i - r->target;
				r->mark = i + 1;
				r->state = S_VERSION;
				break;
			}
			if (i - r->target >= r->max_target)
				return fail(r, 414, "the target is too long");
			if (r->state != S_TARGET) {
				if (hex_value(c) < 0)
					return fail(r, 400, "a bad percent-encoding in the target");
				r->state = r->state == S_PCT1 ? S_PCT2 : S_TARGET;
			} else if (c == '%') {
				r->state = S_PCT1;
			} else if (!is_target_char(c)) {
				return fail(r, 400, "a byte the target cannot hold");
			}
			break;
		case S_VERSION: {
			size_t k = i - r->mark;
			if (k == 8 && c == '\n')
				return fail(r, 400, "a line that does not end in CRLF");
			if (k < 5 ? c != (unsigned char)"HTTP/"[k]
				  : k == 6 ? c != '.'
				  : k < 8 ? c < '0' || c > '9'
				  : c != '\r')
				return fail(r, 400, "a bad request line");
			if (k == 8) {
				if (buf[r->mark + 5] != '1' || (buf[r->mark + 7] != '0' && buf[r->mark + 7] != '1'))
					return fail(r, 505, "an HTTP version other than 1.1 and 1.0");
				r->minor = buf[r->mark + 7] - '0';
				r->state = S_RL_LF;
			}
			break;
		}
		case S_RL_LF:
		case S_LF:
			if (c != '\n')
				return fail(r, 400, "a line that does not end in CRLF");
			if (r->state == S_LF && field_done(r, buf) < 0)
				return DP_REQ_ERROR;
			r->state = S_LINE0;
			break;
		case S_LINE0:
			if (c == '\r') {
				r->state = S_END_LF;
			} else if (c == ' ' || c == '\t') {
				return fail(r, 400, r->nfields ? "a folded header line" : "a space before the first header");
			} else if (!dp_http_tchar(c)) {
				return fail(r, 400, "a bad header name");
			} else if (!f) {
				return fail(r, 431, "too many header fields");
			} else {
				f->name = i;
				r->state = S_NAME;
			}
			break;
		case S_NAME:
			if (dp_http_tchar(c))
				break;
			if (c != ':' || !f)
				return fail(r, 400, "a bad header name");
			f->name_len = i - f->name;
			r->state = S_OWS;
			break;
		case S_OWS:
		case S_VALUE:
			if (!f) /* never: S_LINE0 saw that there was room */
				return fail(r, 431, "too many header fields");
			if (c == ' ' || c == '\t')
				break;
			if (c == '\r') {
				if (r->state == S_OWS) {
					f->value = i;
					f->value_len = 0;
				} else {
					f->value_len = r->vend - f->value;
				}
				r->state = S_LF;
				break;
			}
			if (c == '\n')
				return fail(r, 400, "a line that does not end in CRLF");
			if (c < 0x21 || c == 0x7f)
				return fail(r, 400, "a control byte in a header");
			if (r->state == S_OWS) {
				f->value = i;
				r->state = S_VALUE;
			}
			r->vend = i + 1;
			break;
		case S_END_LF:
			if (c != '\n')
				return fail(r, 400, "a line that does not end in CRLF");
			if (r->minor == 1 && !r->host_seen)
				return fail(r, 400, "no Host");
			r->length = i + 1;
			r->pos = i + 1;
			r->state = S_DONE;
			return DP_REQ_DONE;
		default:
			return fail(r, 400, "a bad request");
		}
	}
	if (len > r->pos)
		r->pos = len;
	return DP_REQ_MORE;
}

long dp_request_field(const dp_request *r, const char *buf, const char *name, size_t from)
{
	size_t i;
	for (i = from; i < r->nfields; i++)
		if (name_is(buf, &r->fields[i], name))
			return (long)i;
	return -1;
}

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

int dp_path_clean(const char *target, size_t n, char *out, size_t cap, size_t *out_len,
		  const char **why)
{
	size_t end = 0, i = 0, o = 0;
	int trailing = 0;

	while (end < n && target[end] != '?')
		end++;
	if (end == 0 || target[0] != '/')
		return refuse(why, "not an absolute path");
	if (cap < end + 1)
		return refuse(why, "too long");
	/* Each turn is one segment, from the '/' at target[i]; decoding only ever shortens it. */
	while (i < end) {
		size_t slash = o, start;
		out[o++] = '/';
		start = o;
		for (i++; i < end && target[i] != '/'; o++) {
			unsigned char c = (unsigned char)target[i];
			if (c == '%') {
				int hi = i + 2 < end ? hex_value((unsigned char)target[i + 1]) : -1;
				int lo = hi >= 0 ? hex_value((unsigned char)target[i + 2]) : -1;
				if (lo < 0)
					return refuse(why, "a bad percent-encoding");
				c = (unsigned char)(hi * 16 + lo);
				if (c == '/')
					return refuse(why, "an encoded '/'");
				i += 3;
			} else {
				i++;
			}
			if (c == '\\')
				return refuse(why, "a backslash");
			if (c == 0)
				return refuse(why, "a NUL byte");
			if (c < 0x20 || c == 0x7f)
				return refuse(why, "a control byte");
			out[o] = (char)c;
		}
		if (o - start == 2 && out[start] == '.' && out[start + 1] == '.')
			return refuse(why, "a '..' segment");
		trailing = o == start || (o - start == 1 && out[start] == '.');
		if (trailing)
			o = slash;
	}
	if (o == 0 || trailing)
		out[o++] = '/';
	out[o] = '\0';
	*out_len = o;
	return 0;
}
