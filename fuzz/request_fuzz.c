/* libFuzzer target: the request head parser, whole and fed a byte at a time, the path cleaner
 * and the WebSocket upgrade check on what it parsed; and the client's check of an answer. */
#include <stdint.h>
#include <string.h>

#include "proto.h"

#define MAX_HEAD 4096
#define MAX_TARGET 1024
#define MAX_FIELDS 32

static void check_request(const dp_request *r, int rc, const char *buf, size_t size)
{
	size_t i;
	if (rc == DP_REQ_ERROR) {
		if (!r->reason || (r->status != 400 && r->status != 414 && r->status != 431 &&
				   r->status != 501 && r->status != 505))
			__builtin_trap();
		return;
	}
	if (rc != DP_REQ_DONE)
		return;
	if (r->length > size || r->length > MAX_HEAD || r->method_len == 0 ||
	    r->target_len == 0 || r->target_len > MAX_TARGET || r->target + r->target_len > r->length ||
	    buf[r->target] != '/' || r->nfields > MAX_FIELDS || (r->minor != 0 && r->minor != 1))
		__builtin_trap();
	for (i = 0; i < r->nfields; i++) {
		const dp_req_field *f = &r->fields[i];
		if (f->name_len == 0 || f->name + f->name_len > r->length ||
		    f->value + f->value_len > r->length || memchr(buf + f->value, '\n', f->value_len))
			__builtin_trap();
	}
}

static void check_path(const char *t, size_t n)
{
	char out[MAX_HEAD + 1];
	size_t len = 0, i;
	const char *why = NULL;
	if (n > MAX_HEAD)
		n = MAX_HEAD;
	if (dp_path_clean(t, n, out, n + 1, &len, &why) < 0) {
		if (!why)
			__builtin_trap();
		return;
	}
	if (len == 0 || len > n || out[0] != '/' || out[len] != '\0' || memchr(out, '\0', len) ||
	    memchr(out, '\\', len))
		__builtin_trap();
	for (i = 0; i < len; i++) /* no "//", no "." or ".." segment */
		if (out[i] == '/' && ((i + 1 < len && out[i + 1] == '/') ||
				      (i + 1 < len && out[i + 1] == '.' &&
				       (i + 2 == len || out[i + 2] == '/' ||
					(out[i + 2] == '.' && (i + 3 == len || out[i + 3] == '/'))))))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	dp_req_field fields[MAX_FIELDS], fields2[MAX_FIELDS];
	dp_request r, r2;
	dp_ws_upgrade u;
	int rc, rc2 = DP_REQ_MORE;
	size_t i;

	dp_request_init(&r, MAX_HEAD, MAX_TARGET, fields, MAX_FIELDS);
	rc = dp_request_parse(&r, buf, size);
	check_request(&r, rc, buf, size);
	/* fed as it might arrive, a byte more each time: the same outcome */
	dp_request_init(&r2, MAX_HEAD, MAX_TARGET, fields2, MAX_FIELDS);
	for (i = 0; i <= size && rc2 == DP_REQ_MORE; i++)
		rc2 = dp_request_parse(&r2, buf, i);
	if (rc2 != rc || r2.length != r.length || r2.status != r.status || r2.nfields != r.nfields ||
	    (rc == DP_REQ_DONE && memcmp(fields, fields2, r.nfields * sizeof *fields) != 0))
		__builtin_trap();
	check_path(buf, size);
	{
		dp_span p;
		const char *why = NULL;
		if (dp_ws_client_verify(buf, size, "dGhlIHNhbXBsZSBub25jZQ==", "chat, v5.channel.k8s.io", &p,
					&why) < 0 ? !why : p.off + p.len > size)
			__builtin_trap();
	}
	if (rc == DP_REQ_DONE) {
		check_path(buf + r.target, r.target_len);
		if (dp_ws_server_check(&r, buf, &u) == 0) {
			if (strlen(u.accept) != DP_WS_ACCEPT_LEN || u.nprotocols > DP_WS_PROTOCOLS_MAX)
				__builtin_trap();
			for (i = 0; i < u.nprotocols; i++)
				if (u.protocols[i].len == 0 || u.protocols[i].off + u.protocols[i].len > r.length)
					__builtin_trap();
		} else if (!u.reason || (u.status != 400 && u.status != 405 && u.status != 426)) {
			__builtin_trap();
		}
	}
	return 0;
}
