/*
 * Hijacked streams: attach and exec start take over an engine connection with
 * "Upgrade: tcp", then the connection carries the container's bytes both ways.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dockerpty.h"
#include "proto.h"

#define STREAM "dockerpty.Stream"
#define ERROR_BODY_MAX ((size_t)64 * 1024)
#define HANDSHAKE_TIMEOUT_MS 30000
#define READ_MAX ((size_t)256 * 1024) /* the most one read hands back to the pump */
#define LUA_READ_MAX 65536     /* and to Lua's stream:read() */

struct dp_stream {
	CURL *curl; /* NULL once closed */
	curl_socket_t fd;
	int tls, eof, write_closed;
	int head_pending; /* a deferred upgrade: early holds what came of the head so far */
	char *early; /* bytes that arrived with the response head, handed out first */
	size_t early_len, early_pos;
	char *endpoint;
	char err[CURL_ERROR_SIZE + 128];
};

static void set_error(dp_stream *s, const char *what, CURLcode rc)
{
	const char *why = s->err[0] ? s->err : curl_easy_strerror(rc);
	char tmp[sizeof s->err];
	if (snprintf(tmp, sizeof tmp, "%s %s: %s", what, s->endpoint, why) >= (int)sizeof tmp)
		tmp[sizeof tmp - 2] = '.'; /* cut short, and says so */
	memcpy(s->err, tmp, sizeof s->err);
}

/* What the connection has, past any early bytes: > 0, 0 at its end, DP_AGAIN or DP_FAIL. */
static long recv_some(dp_stream *s, char *buf, size_t n)
{
	size_t got = 0;
	CURLcode rc;

	if (s->eof)
		return 0;
	s->err[0] = '\0';
	rc = curl_easy_recv(s->curl, buf, n, &got);
	if (rc == CURLE_AGAIN)
		return DP_AGAIN;
	if (rc != CURLE_OK) {
		set_error(s, "reading from", rc);
		return DP_FAIL;
	}
	if (got == 0)
		s->eof = 1;
	return (long)got;
}

long dp_stream_read(dp_stream *s, char *buf, size_t n)
{
	if (!s->curl) {
		snprintf(s->err, sizeof s->err, "stream from %s is closed", s->endpoint);
		return DP_FAIL;
	}
	if (s->head_pending) {
		snprintf(s->err, sizeof s->err, "stream from %s: the answer's head is still to come (finish_head)",
			 s->endpoint);
		return DP_FAIL;
	}
	if (s->early_pos < s->early_len) {
		size_t k = s->early_len - s->early_pos < n ? s->early_len - s->early_pos : n;
		memcpy(buf, s->early + s->early_pos, k);
		s->early_pos += k;
		if (s->early_pos == s->early_len) {
			free(s->early);
			s->early = NULL;
			s->early_len = s->early_pos = 0;
		}
		return (long)k;
	}
	return recv_some(s, buf, n);
}

long dp_stream_write(dp_stream *s, const char *buf, size_t n)
{
	size_t sent = 0;
	CURLcode rc;

	if (!s->curl || s->write_closed) {
		snprintf(s->err, sizeof s->err, "stream to %s is closed for writing", s->endpoint);
		return DP_FAIL;
	}
	s->err[0] = '\0';
	rc = curl_easy_send(s->curl, buf, n, &sent);
	if (rc == CURLE_AGAIN)
		return sent ? (long)sent : DP_AGAIN;
	if (rc != CURLE_OK) {
		set_error(s, "writing to", rc);
		return DP_FAIL;
	}
	return (long)sent;
}

/* Writes all of buf, waiting for the socket as needed; 0, or DP_FAIL. */
static int write_all(dp_stream *s, const char *buf, size_t n, int timeout_ms)
{
	while (n > 0) {
		long k = dp_stream_write(s, buf, n);
		if (k == DP_FAIL)
			return DP_FAIL;
		if (k == DP_AGAIN) {
			int r = dp_wait_fd(s->fd, POLLOUT, timeout_ms);
			if (r <= 0) {
				if (r == 0)
					snprintf(s->err, sizeof s->err, "timed out writing to %s", s->endpoint);
				else
					snprintf(s->err, sizeof s->err, "cannot wait for %s: %s", s->endpoint,
						 strerror(errno));
				return DP_FAIL;
			}
			continue;
		}
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

/* TLS ends a direction with a close_notify alert, on the session libcurl owns. */
static int tls_close_notify(dp_stream *s)
{
	const struct curl_tlssessioninfo *info = NULL;
	SSL *ssl;
	int r;

	if (curl_easy_getinfo(s->curl, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info ||
	    info->backend != CURLSSLBACKEND_OPENSSL || !info->internals) {
		snprintf(s->err, sizeof s->err, "cannot half-close the TLS stream to %s", s->endpoint);
		return DP_FAIL;
	}
	ssl = (SSL *)info->internals;
	ERR_clear_error();
	r = SSL_shutdown(ssl);
	if (r < 0) {
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			return DP_AGAIN;
		snprintf(s->err, sizeof s->err, "cannot half-close the TLS stream to %s: %s", s->endpoint,
			 e == SSL_ERROR_SYSCALL && errno ? strerror(errno) : "TLS error");
		return DP_FAIL;
	}
	return 0;
}

/* The container sees the end of its input; its output still comes. DP_AGAIN: the socket has
 * no room for TLS's alert yet; call again once it is writable. Any other outcome is final. */
int dp_stream_close_write(dp_stream *s)
{
	int r;

	if (!s->curl) {
		snprintf(s->err, sizeof s->err, "stream is closed");
		return DP_FAIL;
	}
	if (s->write_closed)
		return 0;
	if (s->tls) {
		r = tls_close_notify(s);
	} else {
		r = shutdown(s->fd, SHUT_WR) == 0 ? 0 : DP_FAIL;
		if (r)
			snprintf(s->err, sizeof s->err, "cannot half-close the stream to %s: %s", s->endpoint,
				 strerror(errno));
	}
	if (r != DP_AGAIN)
		s->write_closed = 1;
	return r;
}

int dp_stream_head_pending(const dp_stream *s)
{
	return s->head_pending;
}

int dp_stream_fd(const dp_stream *s)
{
	return s->curl ? (int)s->fd : -1;
}

const char *dp_stream_error(const dp_stream *s)
{
	return s->err;
}

static void stream_release(dp_stream *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	s->curl = NULL;
	s->fd = CURL_SOCKET_BAD;
	free(s->early);
	s->early = NULL;
	s->early_len = s->early_pos = 0;
	s->head_pending = 0;
}

dp_stream *dp_check_stream(lua_State *L, int idx)
{
	dp_stream *s = luaL_checkudata(L, idx, STREAM);
	if (!s->curl)
		luaL_error(L, "stream from %s is closed", s->endpoint ? s->endpoint : "?");
	return s;
}

static long ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

#define HEAD_INTERRUPTED (-3)

/* Reads into buf (capacity cap) until dp_head_parse finds a whole head, or fails: within
 * limit_ms in all, so that an engine cannot trickle it for ever, and at once on a signal
 * that would end the process (g). */
static long read_head(dp_stream *s, char *buf, size_t cap, size_t *len, dp_head *h,
		      long limit_ms, const dp_interruptible *g)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		long k, head_len = dp_head_parse(buf, *len, h);
		if (head_len != 0)
			return head_len;
		if (*len == cap)
			return -1;
		k = dp_stream_read(s, buf + *len, cap - *len);
		if (k == DP_AGAIN) {
			struct pollfd p = {.fd = s->fd, .events = POLLIN};
			long left = limit_ms - ms_since(&start);
			int r = left > 0 ? poll(&p, 1, (int)left) : 0;
			if (dp_interrupted(g)) {
				snprintf(s->err, sizeof s->err, "waiting for %s interrupted by a signal",
					 s->endpoint);
				return HEAD_INTERRUPTED;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r == 0)
					snprintf(s->err, sizeof s->err, "%s did not answer within %g s",
						 s->endpoint, (double)limit_ms / 1000);
				else
					snprintf(s->err, sizeof s->err, "cannot wait for %s: %s", s->endpoint,
						 strerror(errno));
				return DP_FAIL;
			}
			continue;
		}
		if (k == DP_FAIL)
			return DP_FAIL;
		if (k == 0) {
			snprintf(s->err, sizeof s->err, "%s closed the connection before answering",
				 s->endpoint);
			return DP_FAIL;
		}
		*len += (size_t)k;
	}
}

/* The body of a refusal, so its message can be shown; at most ERROR_BODY_MAX bytes. */
static void read_error_body(dp_stream *s, luaL_Buffer *b, size_t have, long long want)
{
	char chunk[4096];
	while ((want < 0 || (long long)have < want) && have < ERROR_BODY_MAX) {
		long k = dp_stream_read(s, chunk, sizeof chunk);
		if (k == DP_AGAIN) {
			if (dp_wait_fd(s->fd, POLLIN, HANDSHAKE_TIMEOUT_MS) <= 0)
				return; /* nothing within the time, or poll failed: what came is the message */
			continue;
		}
		if (k <= 0)
			return;
		luaL_addlstring(b, chunk, (size_t)k);
		have += (size_t)k;
	}
}

#define ANSWER_BUF (DP_HEAD_MAX + 4096)

/* What a hijack returns once the head (head_len bytes of the len in s->early) is whole: the
 * stream with {status=, content_type=}, the rest kept as its first bytes; or, for a refusal,
 * nil, body, status, content_type with the stream released. more: the refusal's body may be
 * read on (waiting); else what came is all of it. */
static int push_answer(lua_State *L, dp_stream *s, size_t len, long head_len, const dp_head *h,
		       int upgrade, int more)
{
	char *buf = s->early;
	s->head_pending = 0;
	s->early_len = 0;
	if (!(h->status == 200 || (upgrade && h->status == 101))) {
		luaL_Buffer b;
		luaL_buffinit(L, &b);
		luaL_addlstring(&b, buf + head_len, len - (size_t)head_len);
		if (more)
			read_error_body(s, &b, len - (size_t)head_len, h->content_length);
		luaL_pushresult(&b);
		stream_release(s);
		lua_pushnil(L);
		lua_insert(L, -2);
		lua_pushinteger(L, h->status);
		lua_pushstring(L, h->content_type);
		return 4;
	}
	if ((size_t)head_len < len) {
		s->early_len = len - (size_t)head_len;
		s->early_pos = 0;
		memmove(buf, buf + head_len, s->early_len);
	} else {
		free(buf);
		s->early = NULL;
	}
	lua_createtable(L, 0, 2);
	lua_pushinteger(L, h->status);
	lua_setfield(L, -2, "status");
	lua_pushstring(L, h->content_type);
	lua_setfield(L, -2, "content_type");
	return 2;
}

/* "Name: value\r\n" for each pair of the table at idx, left on the stack. A name is an
 * HTTP token and a value has no control byte, so that no header can end the head or start
 * another. */
static const char *header_lines(lua_State *L, int idx, int *chunked)
{
	int n = 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		size_t nlen, vlen, i;
		const char *name, *value;
		if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "hijack: headers must map names to strings");
		name = lua_tolstring(L, -2, &nlen);
		value = lua_tolstring(L, -1, &vlen);
		if (nlen == 0)
			luaL_error(L, "hijack: an empty header name");
		for (i = 0; i < nlen; i++)
			if (!isalnum((unsigned char)name[i]) &&
			    (name[i] == '\0' || !strchr("!#$%&'*+-.^_`|~", name[i])))
				luaL_error(L, "hijack: header name \"%s\" is not an HTTP token", name);
		for (i = 0; i < vlen; i++)
			if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
				luaL_error(L, "hijack: the value of header %s has a control character", name);
		if (strcasecmp(name, "Transfer-Encoding") == 0)
			*chunked = 1;
		luaL_checkstack(L, 3, "too many headers");
		lua_pushfstring(L, "%s: %s\r\n", name, value);
		lua_insert(L, -3); /* below the key and value: the key stays on top for lua_next */
		lua_pop(L, 1);
		n++;
	}
	lua_concat(L, n);
	return lua_tostring(L, -1);
}

/*
 * hijack(transport, target, [body, [content_type, [upgrade, [defer, [method, [headers]]]]]])
 *   -> stream, {status=, content_type=}
 *    | nil, message, code                  (the connection failed)
 *    | nil, body, status, content_type     (the engine refused: an HTTP error answer)
 * With upgrade false it is a plain HTTP/1.0 POST whose answer's body runs to the end of the
 * stream: how a wait is registered now and its result read later. With defer too it returns
 * once the request is sent, {} for the head, and the stream's bytes are the whole answer,
 * head included: a request, such as a start, whose answer is read while other work goes on.
 * method is POST unless told: a GET without upgrade streams an answer, such as followed logs.
 * headers: {name = value} sent too (X-Registry-Auth). With a Transfer-Encoding among them the
 * request is HTTP/1.1 with no Content-Length: a body the caller writes in chunks (a build's
 * context), its answer chunked too. With upgrade and defer it returns once the request is
 * sent, {} for the head, and stream:finish_head() reads the head later, without waiting.
 */
static int l_hijack(lua_State *L)
{
	dp_transport *t = dp_check_transport(L, 1);
	const char *target = luaL_checkstring(L, 2);
	size_t body_len = 0, len = 0;
	const char *body = luaL_optlstring(L, 3, NULL, &body_len);
	const char *ctype = luaL_optstring(L, 4, body ? "application/json" : "text/plain");
	int upgrade = lua_isnoneornil(L, 5) || lua_toboolean(L, 5);
	int defer = lua_toboolean(L, 6);
	const char *method = luaL_optstring(L, 7, "POST");
	const char *extra = ""; /* header lines from the table at 8, checked */
	int chunked = 0;
	char length[32];
	const char *req;
	size_t req_len;
	char *buf;
	long head_len, limit_ms;
	dp_head h;
	dp_interruptible g;
	dp_stream *s;

	luaL_argcheck(L, target[0] == '/', 2, "must start with '/'");
	luaL_argcheck(L, body_len <= INT_MAX, 3, "larger than 2 GiB");
	if (!lua_isnoneornil(L, 8))
		extra = header_lines(L, 8, &chunked);
	/* a body sent in chunks needs HTTP/1.1: Go's server ignores Transfer-Encoding in 1.0 */
	luaL_argcheck(L, !chunked || (!body && !upgrade), 8, "Transfer-Encoding is for a body written later");
	if (chunked)
		length[0] = '\0';
	else
		snprintf(length, sizeof length, "Content-Length: %d\r\n", (int)body_len);
	s = lua_newuserdatauv(L, sizeof *s, 0);
	memset(s, 0, sizeof *s);
	s->fd = CURL_SOCKET_BAD;
	luaL_setmetatable(L, STREAM);
	s->endpoint = strdup(dp_transport_endpoint(t));
	if (!s->endpoint)
		return luaL_error(L, "out of memory");
	s->curl = dp_transport_connect(L, t, s->err);
	if (!s->curl)
		return 3;
	s->tls = dp_transport_is_tls(t);
	curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &s->fd);
	/* libcurl hands back at most its buffer size per read, 16 KB unless told */
	curl_easy_setopt(s->curl, CURLOPT_BUFFERSIZE, (long)READ_MAX);

	lua_pushfstring(L,
			"%s %s HTTP/1.%s\r\nHost: %s\r\nUser-Agent: dockerpty/" DP_VERSION "\r\n"
			"%s%sContent-Type: %s\r\n%s\r\n",
			method, target, upgrade || chunked ? "1" : "0", dp_transport_authority(t),
			upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : chunked ? "Connection: close\r\n" : "",
			extra, ctype, length);
	req = lua_tolstring(L, -1, &req_len);
	if (write_all(s, req, req_len, HANDSHAKE_TIMEOUT_MS) != 0 ||
	    (body_len && write_all(s, body, body_len, HANDSHAKE_TIMEOUT_MS) != 0)) {
		lua_pushnil(L);
		lua_pushstring(L, s->err);
		stream_release(s);
		lua_pushliteral(L, "transport");
		return 3;
	}
	lua_pop(L, 1);
	if (defer && !upgrade) {
		lua_newtable(L);
		return 2;
	}

	buf = malloc(ANSWER_BUF);
	if (!buf)
		return luaL_error(L, "out of memory");
	s->early = buf; /* the stream owns it now (early_len 0): freed with it, whatever raises */
	if (defer) {
		s->head_pending = 1;
		lua_newtable(L);
		return 2;
	}
	dp_interruptible_begin(&g);
	limit_ms = dp_transport_timeout_ms(t); /* the client's timeout, if shorter */
	if (limit_ms <= 0 || limit_ms > HANDSHAKE_TIMEOUT_MS)
		limit_ms = HANDSHAKE_TIMEOUT_MS;
	head_len = read_head(s, buf, ANSWER_BUF, &len, &h, limit_ms, &g);
	dp_interruptible_end(&g); /* a signal caught meanwhile does what it would have done */
	if (head_len < 0) {
		lua_pushnil(L);
		if (head_len == -1)
			lua_pushfstring(L, "%s answered with something other than HTTP", s->endpoint);
		else
			lua_pushstring(L, s->err);
		stream_release(s);
		if (head_len == HEAD_INTERRUPTED)
			lua_pushliteral(L, "interrupted");
		else
			lua_pushliteral(L, "transport");
		return 3;
	}
	return push_answer(L, s, len, head_len, &h, upgrade, 1);
}

static int push_stream_error(lua_State *L, dp_stream *s)
{
	lua_pushnil(L);
	lua_pushstring(L, s->err);
	lua_pushliteral(L, "transport");
	return 3;
}

/*
 * s:read([max, [timeout_ms]]) -> bytes | false (nothing yet) | nil (the end) | nil, message, code
 * At most max bytes (64 KiB at most, and by default). It waits up to timeout_ms (-1: as long
 * as it takes) when nothing is there; 0 by default.
 */
static int s_read(lua_State *L)
{
	dp_stream *s = dp_check_stream(L, 1);
	lua_Integer max = luaL_optinteger(L, 2, LUA_READ_MAX);
	int timeout = dp_opt_int(L, 3, 0, -1, INT_MAX);
	char p[LUA_READ_MAX];
	long k;

	luaL_argcheck(L, max > 0, 2, "must be positive");
	if (max > LUA_READ_MAX)
		max = LUA_READ_MAX;
	k = dp_stream_read(s, p, (size_t)max);
	if (k == DP_AGAIN && timeout != 0) {
		/* a wait a signal can end, as a request's can: a registry that stalls a pull */
		dp_interruptible g;
		struct timespec start;
		int interrupted = 0;
		clock_gettime(CLOCK_MONOTONIC, &start);
		dp_interruptible_begin(&g);
		/* "Again" from the transport means TLS holds nothing either: poll can be trusted. */
		while (k == DP_AGAIN) {
			struct pollfd pf = {.fd = s->fd, .events = POLLIN};
			long left = timeout < 0 ? -1 : timeout - ms_since(&start);
			int r = left == 0 ? 0 : poll(&pf, 1, left < 0 ? -1 : (int)left);
			if (dp_interrupted(&g)) {
				interrupted = 1;
				break;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			k = dp_stream_read(s, p, (size_t)max);
		}
		dp_interruptible_end(&g);
		if (interrupted) {
			lua_pushnil(L);
			lua_pushfstring(L, "reading from %s interrupted by a signal", s->endpoint);
			lua_pushliteral(L, "interrupted");
			return 3;
		}
	}
	if (k == DP_FAIL)
		return push_stream_error(L, s);
	if (k == DP_AGAIN) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (k == 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushlstring(L, p, (size_t)k);
	return 1;
}

/*
 * s:finish_head() -> {status=, content_type=} | false (more is to come: wait for the stream's
 * descriptor to be readable, then call again) | nil, message, code | nil, body, status,
 * content_type: what hijack would have returned, for one made with upgrade and defer.
 * Never waits; the caller owns the deadline.
 */
static int s_finish_head(lua_State *L)
{
	dp_stream *s = dp_check_stream(L, 1);
	luaL_argcheck(L, s->head_pending, 1, "no answer's head is pending on this stream");
	for (;;) {
		dp_head h;
		long k, head_len = dp_head_parse(s->early, s->early_len, &h);
		if (head_len > 0) {
			int ok = h.status == 200 || h.status == 101;
			size_t want = h.content_length < 0 ? ANSWER_BUF
						: (size_t)head_len + (size_t)h.content_length;
			/* a refusal's message is whole when its length has come, or the engine closed */
			if (ok || s->eof || s->early_len >= want || s->early_len == ANSWER_BUF)
				return push_answer(L, s, s->early_len, head_len, &h, 1, 0);
		}
		if (head_len < 0 || (head_len == 0 && s->early_len == ANSWER_BUF)) {
			lua_pushnil(L);
			lua_pushfstring(L, "%s answered with something other than HTTP", s->endpoint);
			stream_release(s);
			lua_pushliteral(L, "transport");
			return 3;
		}
		k = recv_some(s, s->early + s->early_len, ANSWER_BUF - s->early_len);
		if (k == DP_AGAIN) {
			lua_pushboolean(L, 0);
			return 1;
		}
		if (k == DP_FAIL && head_len > 0) /* a refusal cut short: its status, and what came */
			return push_answer(L, s, s->early_len, head_len, &h, 1, 0);
		if (k == 0 && head_len == 0)
			snprintf(s->err, sizeof s->err, "%s closed the connection before answering", s->endpoint);
		if (k == DP_FAIL || (k == 0 && head_len == 0)) {
			lua_pushnil(L);
			lua_pushstring(L, s->err);
			stream_release(s);
			lua_pushliteral(L, "transport");
			return 3;
		}
		s->early_len += (size_t)k;
	}
}

/* s:send(bytes) -> how many went (0 when the socket is full) | nil, message, code */
static int s_send(lua_State *L)
{
	dp_stream *s = dp_check_stream(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	long k = n ? dp_stream_write(s, data, n) : 0;

	if (k == DP_FAIL)
		return push_stream_error(L, s);
	lua_pushinteger(L, k == DP_AGAIN ? 0 : k);
	return 1;
}

/* s:write(bytes, [timeout]) -> true | nil, message, code; waits until all of it went */
static int s_write(lua_State *L)
{
	dp_stream *s = dp_check_stream(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	lua_Number timeout = luaL_optnumber(L, 3, -1);

	luaL_argcheck(L, timeout < 0 || timeout <= INT_MAX / 1000, 3, "out of range");
	if (write_all(s, data, n, !(timeout >= 0) ? -1 : (int)(timeout * 1000)) != 0)
		return push_stream_error(L, s);
	lua_pushboolean(L, 1);
	return 1;
}

static int s_close_write(lua_State *L)
{
	dp_stream *s = dp_check_stream(L, 1);
	int r;
	while ((r = dp_stream_close_write(s)) == DP_AGAIN) {
		if (dp_wait_fd(dp_stream_fd(s), POLLOUT, 10000) <= 0) {
			snprintf(s->err, sizeof s->err, "timed out half-closing the stream to %s", s->endpoint);
			return push_stream_error(L, s);
		}
	}
	if (r != 0)
		return push_stream_error(L, s);
	lua_pushboolean(L, 1);
	return 1;
}

static int s_fileno(lua_State *L)
{
	dp_stream *s = dp_check_stream(L, 1);
	lua_pushinteger(L, dp_stream_fd(s));
	return 1;
}

static int s_close(lua_State *L)
{
	stream_release(luaL_checkudata(L, 1, STREAM));
	return 0;
}

static int s_gc(lua_State *L)
{
	dp_stream *s = luaL_checkudata(L, 1, STREAM);
	stream_release(s);
	free(s->endpoint);
	s->endpoint = NULL;
	return 0;
}

static int s_tostring(lua_State *L)
{
	dp_stream *s = luaL_checkudata(L, 1, STREAM);
	lua_pushfstring(L, "dockerpty.Stream (%s%s)", s->endpoint ? s->endpoint : "?",
			s->curl ? "" : ", closed");
	return 1;
}

void dp_stream_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"read", s_read},
		{"send", s_send},
		{"write", s_write},
		{"close_write", s_close_write},
		{"fileno", s_fileno},
		{"finish_head", s_finish_head},
		{"close", s_close},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__gc", s_gc},
		{"__close", s_close},
		{"__tostring", s_tostring},
		{NULL, NULL},
	};

	dp_new_class(L, STREAM, meta, methods);
	lua_pushcfunction(L, l_hijack);
	lua_setfield(L, -2, "hijack");
}
