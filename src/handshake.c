/* The WebSocket opening handshake of RFC 6455: a server's checks and accept, a client's key. */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "proto.h"

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
static const char BASE64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int refuse(dp_ws_upgrade *u, int status, const char *reason)
{
	u->status = status;
	u->reason = reason;
	return -1;
}

/* The next element of a comma-separated list from *pos on, OWS trimmed; empty ones skipped. */
static int next_item(const char *v, size_t n, size_t *pos, dp_span *item)
{
	while (*pos < n) {
		size_t s = *pos, e;
		while (*pos < n && v[*pos] != ',')
			(*pos)++;
		e = *pos;
		if (*pos < n)
			(*pos)++;
		while (s < e && (v[s] == ' ' || v[s] == '\t'))
			s++;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s) {
			item->off = s;
			item->len = e - s;
			return 1;
		}
	}
	return 0;
}

/* 1 when some field named name lists token (any case). */
static int has_token(const dp_request *r, const char *buf, const char *name, const char *token)
{
	size_t tlen = strlen(token);
	long i;
	for (i = dp_request_field(r, buf, name, 0); i >= 0;
	     i = dp_request_field(r, buf, name, (size_t)i + 1)) {
		const dp_req_field *f = &r->fields[i];
		size_t pos = 0;
		dp_span t;
		while (next_item(buf + f->value, f->value_len, &pos, &t))
			if (t.len == tlen && strncasecmp(buf + f->value + t.off, token, tlen) == 0)
				return 1;
	}
	return 0;
}

/* The one field named name: its index, -1 when absent, -2 when there are more. */
static long only_field(const dp_request *r, const char *buf, const char *name)
{
	long i = dp_request_field(r, buf, name, 0);
	if (i >= 0 && dp_request_field(r, buf, name, (size_t)i + 1) >= 0)
		return -2;
	return i;
}

/* base64 of exactly 16 bytes, in its one canonical spelling */
static int is_key(const char *k, size_t n)
{
	const char *last;
	size_t i;
	if (n != DP_WS_KEY_LEN || k[22] != '=' || k[23] != '=')
		return 0;
	for (i = 0; i < 22; i++)
		if (k[i] == '\0' || strchr(BASE64, k[i]) == NULL)
			return 0;
	last = strchr(BASE64, k[21]); /* its low four bits would be a 17th byte's */
	return last && ((last - BASE64) & 0x0f) == 0;
}

int dp_ws_accept(const char *key, size_t key_len, char out[DP_WS_ACCEPT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
		 EVP_DigestUpdate(ctx, key, key_len) &&
		 EVP_DigestUpdate(ctx, GUID, sizeof GUID - 1) && EVP_DigestFinal_ex(ctx, md, &md_len);

	EVP_MD_CTX_free(ctx);
	out[0] = '\0';
	if (!ok || md_len != 20)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

int dp_ws_server_check(const dp_request *r, const char *buf, dp_ws_upgrade *u)
{
	long i;
	const dp_req_field *f;

	memset(u, 0, sizeof *u);
	if (r->method_len != 3 || memcmp(buf, "GET", 3) != 0)
		return refuse(u, 405, "an upgrade by a method other than GET");
	if (r->minor != 1)
		return refuse(u, 400, "an upgrade in HTTP/1.0");
	if (r->content_length > 0 || r->chunked)
		return refuse(u, 400, "an upgrade with a body");
	if (!has_token(r, buf, "upgrade", "websocket"))
		return refuse(u, 400, "no Upgrade: websocket");
	if (!has_token(r, buf, "connection", "upgrade"))
		return refuse(u, 400, "no Connection: Upgrade");
	i = only_field(r, buf, "sec-websocket-version");
	if (i < 0 || r->fields[i].value_len != 2 || memcmp(buf + r->fields[i].value, "13", 2) != 0)
		return refuse(u, 426, "a WebSocket version other than 13");
	i = only_field(r, buf, "sec-websocket-key");
	if (i < 0 || !is_key(buf + r->fields[i].value, r->fields[i].value_len))
		return refuse(u, 400, "a bad Sec-WebSocket-Key");
	f = &r->fields[i];
	if (dp_ws_accept(buf + f->value, f->value_len, u->accept) < 0)
		return refuse(u, 500, "SHA-1 failed");
	for (i = dp_request_field(r, buf, "sec-websocket-protocol", 0); i >= 0;
	     i = dp_request_field(r, buf, "sec-websocket-protocol", (size_t)i + 1)) {
		size_t pos = 0, k;
		dp_span t;
		f = &r->fields[i];
		while (next_item(buf + f->value, f->value_len, &pos, &t)) {
			for (k = 0; k < t.len; k++)
				if (!dp_http_tchar((unsigned char)buf[f->value + t.off + k]))
					return refuse(u, 400, "a bad Sec-WebSocket-Protocol");
			if (u->nprotocols == DP_WS_PROTOCOLS_MAX)
				return refuse(u, 400, "too many subprotocols");
			t.off += f->value;
			u->protocols[u->nprotocols++] = t;
		}
	}
	return 0;
}

int dp_ws_client_key(char out[DP_WS_KEY_LEN + 1])
{
	unsigned char nonce[16];
	out[0] = '\0';
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, nonce, sizeof nonce);
	return 0;
}

int dp_ws_client_check(const char *key, const char *accept, size_t accept_len)
{
	char want[DP_WS_ACCEPT_LEN + 1];
	while (accept_len && (accept[0] == ' ' || accept[0] == '\t')) {
		accept++;
		accept_len--;
	}
	while (accept_len && (accept[accept_len - 1] == ' ' || accept[accept_len - 1] == '\t'))
		accept_len--;
	return dp_ws_accept(key, strlen(key), want) == 0 && accept_len == DP_WS_ACCEPT_LEN &&
	       CRYPTO_memcmp(want, accept, DP_WS_ACCEPT_LEN) == 0;
}

/* 1 when the comma-separated list lists item exactly. */
static int lists(const char *list, const char *item, size_t n)
{
	size_t pos = 0, len = strlen(list);
	dp_span t;
	while (next_item(list, len, &pos, &t))
		if (t.len == n && memcmp(list + t.off, item, n) == 0)
			return 1;
	return 0;
}

int dp_ws_client_verify(const char *head, size_t len, const char *key, const char *offered,
			dp_span *protocol, const char **why)
{
	dp_head h;
	dp_field f;
	size_t pos = 0;
	long end;
	int upgrade = 0, connection = 0, accepts = 0, accepted = 0, protocols = 0;

	protocol->off = protocol->len = 0;
	end = dp_head_parse(head, len, &h);
	if (end <= 0) {
		*why = "not an HTTP response head";
		return -1;
	}
	len = (size_t)end; /* what follows is the first frames' */
	if (h.status != 101) {
		*why = "the server did not switch protocols";
		return -1;
	}
	while (dp_head_field(head, len, &pos, &f)) {
		dp_span t;
		size_t p = 0;
		if (f.name_len == 7 && strncasecmp(f.name, "upgrade", 7) == 0) {
			while (next_item(f.value, f.value_len, &p, &t))
				upgrade |= t.len == 9 && strncasecmp(f.value + t.off, "websocket", 9) == 0;
		} else if (f.name_len == 10 && strncasecmp(f.name, "connection", 10) == 0) {
			while (next_item(f.value, f.value_len, &p, &t))
				connection |= t.len == 7 && strncasecmp(f.value + t.off, "upgrade", 7) == 0;
		} else if (f.name_len == 20 && strncasecmp(f.name, "sec-websocket-accept", 20) == 0) {
			accepts++;
			accepted = dp_ws_client_check(key, f.value, f.value_len);
		} else if (f.name_len == 22 && strncasecmp(f.name, "sec-websocket-protocol", 22) == 0) {
			protocols++;
			protocol->off = (size_t)(f.value - head);
			protocol->len = f.value_len;
		} else if (f.name_len == 24 && strncasecmp(f.name, "sec-websocket-extensions", 24) == 0) {
			*why = "the server chose an extension that was not offered";
			return -1;
		}
	}
	if (!upgrade || !connection)
		*why = "the server's answer is no WebSocket upgrade";
	else if (accepts != 1 || !accepted)
		*why = "the server's Sec-WebSocket-Accept does not answer the key";
	else if (protocols > 1 || (protocols == 1 && (!offered || protocol->len == 0 ||
						     !lists(offered, head + protocol->off, protocol->len))))
		*why = "the server chose a subprotocol that was not offered";
	else
		return 0;
	return -1;
}
