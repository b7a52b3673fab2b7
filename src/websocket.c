/*
 * A WebSocket connection's I/O: a socket or TLS over it, non-blocking, and wslay's callbacks
 * over that (the gateway's connections and the client's); the channel messages' parse; and
 * the client, blocking with timeouts:
 *   core.ws_connect(url, {ca_file=, cert=, key=, token=, protocols={...}, headers={}, timeout=,
 *                         max_message=}) -> ws | nil, message
 *     url: ws://HOST[:PORT]/PATH or wss://...; TLS verifies the server's certificate and name;
 *     token goes as "Authorization: Bearer"; timeout (seconds, 10) bounds the connect and the
 *     handshake; max_message (bytes, 1 MiB) the largest message taken
 *   ws:send(channel, bytes[, timeout]) -> true | nil, message
 *   ws:read([timeout]) -> channel, bytes | false (nothing within timeout; -1 or nil waits)
 *                       | nil, "closed", code, reason | nil, message
 *   ws:flush([timeout]) -> true (all sent) | false (some still queued) | nil, message
 *   ws:pending() -> messages read and not yet taken, which poll on fileno() cannot see
 *   ws:protocol() -> the subprotocol the server chose, or nil
 *   ws:close([code, reason]): a close frame, a short wait for the server's, then the socket
 *   ws:fileno()
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "areas.h"
#include "auxiliar.h"
#include "dockerpty.h"
#include "gateway.h"
#include "proto.h"

#define WS_CLIENT "dockerpty.WebSocket"
#define CLIENT_MAX_MESSAGE ((size_t)1 << 20)
#define CLIENT_QUEUE_MAX ((size_t)4 << 20) /* received bytes held before reads stop */
#define CLOSE_WAIT_MS 1000

/* ---- I/O over a socket or TLS ---- */

void dp_io_init(dp_io *io, int fd, SSL *ssl)
{
	memset(io, 0, sizeof *io);
	io->fd = fd;
	io->ssl = ssl;
}

/*
 * OpenSSL writes to its socket with write(): a peer that has gone raises SIGPIPE, which would
 * end the process. It is held blocked around the calls that write, and one that they raised
 * is taken back, unless one was pending already.
 */
typedef struct {
	sigset_t old;
	int was_pending;
} pipe_guard;

static void pipe_block(pipe_guard *g)
{
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, &g->old);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
}

static void pipe_unblock(pipe_guard *g)
{
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE)) {
		struct timespec zero = {0, 0};
		int e = errno;
		sigtimedwait(&set, NULL, &zero);
		errno = e;
	}
	sigprocmask(SIG_SETMASK, &g->old, NULL);
}

/* An OpenSSL call's outcome: DP_IO_AGAIN with what it waits for noted, 0 at a clean end,
 * or DP_IO_FAIL. */
static long tls_outcome(dp_io *io, int r, unsigned char *crossed, int reading)
{
	int e = SSL_get_error(io->ssl, r);
	*crossed = 0;
	if (e == SSL_ERROR_WANT_READ) {
		*crossed = !reading;
		return DP_IO_AGAIN;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		*crossed = (unsigned char)reading;
		return DP_IO_AGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	io->err = e == SSL_ERROR_SYSCALL ? errno : 0;
	if (reading && e == SSL_ERROR_SYSCALL && errno == 0)
		return 0; /* the peer's end without close_notify: an end all the same */
	if (reading && e == SSL_ERROR_SSL &&
	    ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		return 0;
	}
	return DP_IO_FAIL;
}

long dp_io_read(dp_io *io, void *buf, size_t n)
{
	if (io->fd < 0)
		return DP_IO_FAIL;
	if (io->ssl) {
		int r;
		ERR_clear_error();
		r = SSL_read(io->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
		if (r > 0) {
			io->read_wants_write = 0;
			return r;
		}
		return tls_outcome(io, r, &io->read_wants_write, 1);
	}
	for (;;) {
		ssize_t k = recv(io->fd, buf, n, 0);
		if (k >= 0)
			return (long)k;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return DP_IO_AGAIN;
		io->err = errno;
		return DP_IO_FAIL;
	}
}

long dp_io_write(dp_io *io, const void *buf, size_t n)
{
	if (io->fd < 0)
		return DP_IO_FAIL;
	if (io->ssl) {
		int r;
		pipe_guard g;
		ERR_clear_error();
		pipe_block(&g);
		r = SSL_write(io->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
		pipe_unblock(&g);
		if (r > 0) {
			io->write_wants_read = 0;
			return r;
		}
		r = (int)tls_outcome(io, r, &io->write_wants_read, 0);
		return r == 0 ? DP_IO_FAIL : r;
	}
	for (;;) {
		ssize_t k = send(io->fd, buf, n, MSG_NOSIGNAL);
		if (k >= 0)
			return (long)k;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return DP_IO_AGAIN;
		io->err = errno;
		return DP_IO_FAIL;
	}
}

int dp_io_handshake(dp_io *io)
{
	int r;
	unsigned char crossed;
	pipe_guard g;
	if (!io->ssl)
		return 1;
	ERR_clear_error();
	pipe_block(&g);
	r = SSL_do_handshake(io->ssl);
	pipe_unblock(&g);
	if (r == 1)
		return 1;
	r = (int)tls_outcome(io, r, &crossed, 1);
	io->read_wants_write = crossed;
	return r == 0 ? DP_IO_FAIL : r;
}

short dp_io_events(const dp_io *io, int want_read, int want_write)
{
	short ev = 0;
	if (want_read)
		ev |= io->read_wants_write ? POLLOUT : POLLIN;
	if (want_write)
		ev |= io->write_wants_read ? POLLIN : POLLOUT;
	return ev;
}

void dp_io_shutdown(dp_io *io)
{
	if (io->fd < 0)
		return;
	if (io->ssl) {
		pipe_guard g;
		ERR_clear_error();
		pipe_block(&g);
		if (SSL_shutdown(io->ssl) < 0)
			ERR_clear_error();
		pipe_unblock(&g);
	}
	shutdown(io->fd, SHUT_WR);
}

void dp_io_close(dp_io *io)
{
	if (io->ssl)
		SSL_free(io->ssl);
	io->ssl = NULL;
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}

const char *dp_io_error(const dp_io *io)
{
	static char buf[256];
	unsigned long e;
	if (io->err)
		return strerror(io->err);
	e = ERR_peek_last_error();
	if (!e)
		return "the connection failed";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

/* ---- wslay's callbacks ---- */

ssize_t dp_ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	dp_wsio *w = user;
	long k;
	(void)flags;
	if (w->hold || (w->budgeted && w->budget == 0)) {
		w->spent = !w->hold;
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (w->budgeted && len > w->budget)
		len = w->budget;
	if (w->pre_pos < w->pre_len) {
		size_t n = w->pre_len - w->pre_pos < len ? w->pre_len - w->pre_pos : len;
		if (w->budgeted)
			w->budget -= n;
		memcpy(buf, w->pre + w->pre_pos, n);
		w->pre_pos += n;
		if (w->pre_pos == w->pre_len) {
			free(w->pre);
			w->pre = NULL;
			w->pre_len = w->pre_pos = 0;
		}
		return (ssize_t)n;
	}
	k = dp_io_read(&w->io, buf, len);
	if (k > 0) {
		if (w->budgeted)
			w->budget -= (size_t)k;
		return k;
	}
	if (k == DP_IO_AGAIN) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (k == 0)
		w->eof = 1;
	else
		w->failed = 1;
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

/* Two buffers in one sendmsg on a plain socket: a count as dp_io_write's. */
static long plain_writev(dp_io *io, const void *a, size_t an, const void *b, size_t bn)
{
	struct iovec iov[2];
	struct msghdr mh;
	iov[0].iov_base = (void *)a;
	iov[0].iov_len = an;
	iov[1].iov_base = (void *)b; /* sendmsg only reads it */
	iov[1].iov_len = bn;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	for (;;) {
		ssize_t k = sendmsg(io->fd, &mh, MSG_NOSIGNAL);
		if (k >= 0)
			return (long)k;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return DP_IO_AGAIN;
		io->err = errno;
		return DP_IO_FAIL;
	}
}

ssize_t dp_ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
		   void *user)
{
	dp_wsio *w = user;
	long k = 0;
	if (w->close_code && len == 2 && flags == 0 && data[0] == 0x88 && data[1] == 0) {
		/* wslay closes a connection whose frames it cannot parse with an empty close
		 * frame: it goes out with the code the reader set (1002), all or nothing */
		const uint8_t f[4] = {0x88, 2, (uint8_t)(w->close_code >> 8), (uint8_t)w->close_code};
		while (w->close_pos < 4 && (k = dp_io_write(&w->io, f + w->close_pos, 4u - w->close_pos)) > 0)
			w->close_pos = (unsigned char)(w->close_pos + k);
		if (w->close_pos == 4)
			return 2;
		k = k > 0 ? DP_IO_AGAIN : k;
	} else if (!w->io.ssl && (flags & WSLAY_MSG_MORE) && !w->head_len && len <= sizeof w->head) {
		/* a header whose payload follows: held, so that both leave in one write (one
		 * packet, one system call, rather than two of each per message) */
		memcpy(w->head, data, len);
		w->head_len = (unsigned char)len;
		w->head_pos = 0;
		return (ssize_t)len;
	} else if (w->head_len) {
		k = plain_writev(&w->io, w->head + w->head_pos, (size_t)(w->head_len - w->head_pos), data, len);
		if (k > 0) {
			long rest = w->head_len - w->head_pos;
			if (k < rest) {
				w->head_pos = (unsigned char)(w->head_pos + k);
				k = DP_IO_AGAIN;
			} else {
				w->head_len = w->head_pos = 0;
				k -= rest;
				if (k == 0)
					k = DP_IO_AGAIN; /* none of this payload yet: wslay offers it again */
			}
		}
	} else {
		k = dp_io_write(&w->io, data, len);
	}
	if (k > 0) {
		w->sent += (unsigned long long)k;
		return k;
	}
	if (k == DP_IO_AGAIN) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	w->failed = 1;
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

int dp_ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	(void)user;
	if (RAND_bytes(buf, (int)len) != 1) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return 0;
}

void dp_wsio_free(dp_wsio *w)
{
	free(w->pre);
	w->pre = NULL;
	w->pre_len = w->pre_pos = 0;
	dp_io_close(&w->io);
}

/* ---- the channel messages ---- */

static int json_size(const cJSON *doc, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65535 ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return -1;
	return (int)v->valuedouble;
}

int dp_ws_channel(const uint8_t *msg, size_t n, const uint8_t **data, size_t *len, int *width,
		  int *height)
{
	if (n == 0)
		return -1;
	*data = msg + 1;
	*len = n - 1;
	if (msg[0] == DP_CH_RESIZE) {
		cJSON *doc;
		if (n - 1 > 256)
			return -1;
		doc = cJSON_ParseWithLength((const char *)msg + 1, n - 1);
		*width = json_size(doc, "Width");
		*height = json_size(doc, "Height");
		cJSON_Delete(doc);
		return *width > 0 && *height > 0 ? DP_CH_RESIZE : -1;
	}
	if (msg[0] == DP_CH_CLOSE)
		return n == 2 && msg[1] == DP_CH_STDIN ? DP_CH_CLOSE : -1;
	return msg[0];
}

/* ---- the client ---- */

typedef struct message {
	struct message *next;
	size_t len;
	unsigned char data[]; /* [channel][bytes] */
} message;

typedef struct {
	dp_wsio w; /* w.io.fd -1 once closed */
	wslay_event_context_ptr ctx;
	SSL_CTX *tls;
	message *head, *tail;
	size_t queued;
	int closed; /* a close frame came: its code and reason */
	int code;
	char reason[124];
	char protocol[64];
	char url[256];
	char err[384];
} ws_client;

static void client_release(ws_client *c)
{
	message *m = c->head;
	while (m) {
		message *next = m->next;
		free(m);
		m = next;
	}
	c->head = c->tail = NULL;
	c->queued = 0;
	if (c->ctx)
		wslay_event_context_free(c->ctx);
	c->ctx = NULL;
	dp_wsio_free(&c->w);
	SSL_CTX_free(c->tls);
	c->tls = NULL;
}

static ws_client *check_client(lua_State *L, int idx)
{
	ws_client *c = luaL_checkudata(L, idx, WS_CLIENT);
	if (c->w.io.fd < 0)
		luaL_error(L, "WebSocket to %s is closed", c->url);
	return c;
}

static void on_client_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
			  void *user)
{
	ws_client *c = (ws_client *)((char *)user - offsetof(ws_client, w));
	message *m;
	(void)ctx;
	if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		size_t rl = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
		if (rl >= sizeof c->reason)
			rl = sizeof c->reason - 1;
		c->closed = 1;
		c->code = arg->status_code ? arg->status_code : 1005;
		if (rl)
			memcpy(c->reason, arg->msg + 2, rl);
		c->reason[rl] = '\0';
		return;
	}
	if ((arg->opcode != WSLAY_BINARY_FRAME && arg->opcode != WSLAY_TEXT_FRAME) || arg->msg_length == 0)
		return;
	m = malloc(sizeof *m + arg->msg_length);
	if (!m)
		return;
	m->next = NULL;
	m->len = arg->msg_length;
	memcpy(m->data, arg->msg, arg->msg_length);
	if (c->tail)
		c->tail->next = m;
	else
		c->head = m;
	c->tail = m;
	c->queued += m->len;
	c->w.hold = c->queued >= CLIENT_QUEUE_MAX;
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits until the socket can go on, up to the deadline (-1: none); 1, 0 on timeout, -1 on a
 * signal that would end the process, -2 on poll's failure. */
static int wait_io(dp_io *io, int rd, int wr, long deadline)
{
	dp_interruptible g;
	int r;
	dp_interruptible_begin(&g);
	for (;;) {
		struct pollfd p = {.fd = io->fd, .events = dp_io_events(io, rd, wr)};
		long left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (dp_interrupted(&g)) {
			r = -1;
			break;
		}
		if (r >= 0 || errno != EINTR) {
			r = r < 0 ? -2 : r > 0;
			break;
		}
	}
	dp_interruptible_end(&g);
	return r;
}

static int client_fail(lua_State *L, ws_client *c, const char *fmt, const char *why)
{
	snprintf(c->err, sizeof c->err, fmt, c->url, why);
	client_release(c);
	lua_pushnil(L);
	lua_pushstring(L, c->err);
	return 2;
}

/* Connects to host:port within the deadline; the fd, or -1 with c->err set. */
static int connect_tcp(ws_client *c, const char *host, const char *port, long deadline)
{
	struct addrinfo hints, *ai = NULL, *p;
	int fd = -1, r;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0) {
		snprintf(c->err, sizeof c->err, "cannot connect to %s: %s", c->url, gai_strerror(r));
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		dp_io io;
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0)
			break;
		dp_io_init(&io, fd, NULL);
		if (errno == EINPROGRESS && wait_io(&io, 0, 1, deadline) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			break;
		snprintf(c->err, sizeof c->err, "cannot connect to %s: %s", c->url,
			 soerr ? strerror(soerr) : errno == EINPROGRESS ? "timed out" : strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Sends what the socket takes now, never waiting; 0, or -1 with c->err. */
static int client_send_some(ws_client *c)
{
	if (wslay_event_want_write(c->ctx) && (wslay_event_send(c->ctx) != 0 || c->w.failed)) {
		snprintf(c->err, sizeof c->err, "cannot write to %s: %s", c->url, dp_io_error(&c->w.io));
		return -1;
	}
	return 0;
}

/* Sends what wslay holds, waiting up to the deadline; 0, or -1 with c->err. */
static int client_flush(ws_client *c, long deadline)
{
	while (wslay_event_want_write(c->ctx)) {
		int r;
		if (wslay_event_send(c->ctx) != 0 || c->w.failed) {
			snprintf(c->err, sizeof c->err, "cannot write to %s: %s", c->url, dp_io_error(&c->w.io));
			return -1;
		}
		if (!wslay_event_want_write(c->ctx))
			break;
		r = wait_io(&c->w.io, 0, 1, deadline);
		if (r <= 0) {
			snprintf(c->err, sizeof c->err, "%s %s", r == 0 ? "timed out writing to" :
				 r == -1 ? "interrupted writing to" : "cannot wait for", c->url);
			return -1;
		}
	}
	return 0;
}

static long deadline_of(lua_State *L, int idx, double dflt)
{
	double t = luaL_optnumber(L, idx, dflt);
	luaL_argcheck(L, t < 1e7, idx, "out of range");
	return t < 0 ? -1 : now_ms() + (long)(t * 1000);
}

static const char *field_string(lua_State *L, int idx, const char *name)
{
	const char *s;
	lua_getfield(L, idx, name);
	s = lua_isnil(L, -1) ? NULL : lua_tostring(L, -1);
	if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "ws_connect: %s must be a string", name);
	lua_pop(L, 1);
	return s;
}

/* Whether s (a value or a name) is free of what could end a header line. */
static int header_safe(const char *s, int name)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (name ? !dp_http_tchar(ch) : ch < 0x20 || ch == 0x7f)
			return 0;
	}
	return 1;
}

/* Pushes the offered subprotocols as one list (or nil) and the request's extra header
 * lines from the options at idx. */
static void request_lines(lua_State *L, int idx)
{
	const char *token = field_string(L, idx, "token");
	int i, n, t, parts = 0;
	lua_getfield(L, idx, "protocols");
	t = lua_gettop(L);
	if (lua_isnil(L, t)) {
		n = 0;
	} else {
		luaL_checktype(L, t, LUA_TTABLE);
		n = (int)lua_rawlen(L, t);
		luaL_argcheck(L, n <= DP_WS_PROTOCOLS_MAX, idx, "too many subprotocols");
	}
	for (i = 1; i <= n; i++) {
		const char *p;
		lua_rawgeti(L, t, i);
		p = lua_tostring(L, -1);
		if (lua_type(L, -1) != LUA_TSTRING || !*p || !header_safe(p, 1))
			luaL_error(L, "ws_connect: subprotocol %d is not a token", i);
		if (i < n)
			lua_pushliteral(L, ", ");
	}
	if (n > 0)
		lua_concat(L, 2 * n - 1);
	else
		lua_pushnil(L);
	lua_remove(L, -2); /* the protocols table */
	if (token) {
		if (!header_safe(token, 0))
			luaL_error(L, "ws_connect: the token has a control byte");
		lua_pushfstring(L, "Authorization: Bearer %s\r\n", token);
		parts++;
	}
	lua_getfield(L, idx, "headers");
	if (!lua_isnil(L, -1)) {
		luaL_checktype(L, -1, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			const char *name, *value;
			if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
				luaL_error(L, "ws_connect: headers must map names to strings");
			name = lua_tostring(L, -2);
			value = lua_tostring(L, -1);
			if (!*name || !header_safe(name, 1) || !header_safe(value, 0))
				luaL_error(L, "ws_connect: header %s is not a token without control bytes", name);
			luaL_checkstack(L, 3, "too many headers");
			lua_pushfstring(L, "%s: %s\r\n", name, value);
			lua_insert(L, -4); /* below the table, the key and the value */
			lua_pop(L, 1);
			parts++;
		}
	}
	lua_pop(L, 1);
	lua_concat(L, parts);
}

static int l_ws_connect(lua_State *L)
{
	size_t ulen;
	const char *url = luaL_checklstring(L, 1, &ulen);
	const char *ca = NULL, *cert = NULL, *key = NULL, *offered = NULL, *rest, *path, *extra;
	char host[256], port[8], authority[300], head[DP_HEAD_MAX], ws_key[DP_WS_KEY_LEN + 1];
	size_t hlen = 0, max_message = CLIENT_MAX_MESSAGE;
	int tls, fd;
	long deadline;
	ws_client *c;
	dp_span chosen;
	const char *why;
	static const struct wslay_event_callbacks cbs = {
		dp_ws_recv, dp_ws_send, dp_ws_genmask, NULL, NULL, NULL, on_client_msg,
	};

	luaL_argcheck(L, ulen < 256, 1, "too long");
	lua_settop(L, 2);
	if (lua_isnil(L, 2)) {
		lua_newtable(L);
		lua_replace(L, 2);
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	ca = field_string(L, 2, "ca_file");
	cert = field_string(L, 2, "cert");
	key = field_string(L, 2, "key");
	lua_getfield(L, 2, "timeout");
	deadline = deadline_of(L, -1, 10);
	lua_pop(L, 1);
	lua_getfield(L, 2, "max_message");
	max_message = (size_t)dp_opt_int(L, -1, (int)CLIENT_MAX_MESSAGE, 1, 1 << 30);
	lua_pop(L, 1);
	request_lines(L, 2); /* 3: the subprotocols offered, 4: the extra lines */
	offered = lua_tostring(L, 3);
	extra = lua_tostring(L, 4);

	c = lua_newuserdatauv(L, sizeof *c, 0);
	memset(c, 0, sizeof *c);
	dp_io_init(&c->w.io, -1, NULL);
	luaL_setmetatable(L, WS_CLIENT);
	snprintf(c->url, sizeof c->url, "%s", url);

	if (strncmp(url, "ws://", 5) == 0) {
		tls = 0;
		rest = url + 5;
	} else if (strncmp(url, "wss://", 6) == 0) {
		tls = 1;
		rest = url + 6;
	} else {
		return client_fail(L, c, "ws_connect: %s: %s", "not a ws:// or wss:// URL");
	}
	path = strchr(rest, '/');
	if (!path)
		path = rest + strlen(rest);
	if (strpbrk(path, " \r\n#") || (size_t)(path - rest) >= sizeof authority)
		return client_fail(L, c, "ws_connect: %s: %s", "a bad URL");
	memcpy(authority, rest, (size_t)(path - rest));
	authority[path - rest] = '\0';
	{
		char *colon = strrchr(authority, ':'), *close = strrchr(authority, ']');
		const char *h = authority;
		size_t n;
		if (colon && (!close || colon > close)) {
			snprintf(port, sizeof port, "%.7s", colon + 1);
			n = (size_t)(colon - authority);
		} else {
			snprintf(port, sizeof port, "%s", tls ? "443" : "80");
			n = strlen(authority);
		}
		if (authority[0] == '[' && n >= 2 && authority[n - 1] == ']') {
			h++;
			n -= 2;
		}
		if (n == 0 || n >= sizeof host)
			return client_fail(L, c, "ws_connect: %s: %s", "no host");
		memcpy(host, h, n);
		host[n] = '\0';
	}
	if (!*path)
		path = "/";

	fd = connect_tcp(c, host, port, deadline);
	if (fd < 0) {
		char why[sizeof c->err];
		snprintf(why, sizeof why, "%s", c->err); /* connect_tcp's whole message */
		return client_fail(L, c, "%.0s%s", why);
	}
	dp_io_init(&c->w.io, fd, NULL);
	if (tls) {
		SSL *ssl;
		unsigned char ip[16];
		int is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
		ERR_clear_error();
		c->tls = SSL_CTX_new(TLS_client_method());
		if (!c->tls || !SSL_CTX_set_min_proto_version(c->tls, TLS1_2_VERSION))
			return client_fail(L, c, "cannot set up TLS for %s: %s", dp_io_error(&c->w.io));
		if ((ca ? SSL_CTX_load_verify_locations(c->tls, ca, NULL) : SSL_CTX_set_default_verify_paths(c->tls)) != 1)
			return client_fail(L, c, "%s: cannot read the CA file: %s", dp_io_error(&c->w.io));
		if (cert && (SSL_CTX_use_certificate_chain_file(c->tls, cert) != 1 ||
			     SSL_CTX_use_PrivateKey_file(c->tls, key ? key : cert, SSL_FILETYPE_PEM) != 1))
			return client_fail(L, c, "%s: cannot read the client certificate: %s", dp_io_error(&c->w.io));
		SSL_CTX_set_verify(c->tls, SSL_VERIFY_PEER, NULL);
		ssl = SSL_new(c->tls);
		if (!ssl)
			return client_fail(L, c, "cannot set up TLS for %s: %s", dp_io_error(&c->w.io));
		c->w.io.ssl = ssl;
		SSL_set_fd(ssl, fd);
		SSL_set_connect_state(ssl);
		SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		if (is_ip) {
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
		} else {
			SSL_set_tlsext_host_name(ssl, host);
			SSL_set1_host(ssl, host);
		}
		for (;;) {
			int r = dp_io_handshake(&c->w.io), w;
			if (r == 1)
				break;
			if (r == DP_IO_FAIL) {
				long v = SSL_get_verify_result(ssl);
				return client_fail(L, c, "TLS with %s failed: %s",
						   v != X509_V_OK ? X509_verify_cert_error_string(v) : dp_io_error(&c->w.io));
			}
			w = wait_io(&c->w.io, 1, 0, deadline);
			if (w <= 0)
				return client_fail(L, c, "TLS with %s: %s", w == 0 ? "timed out" : "interrupted");
		}
	}

	if (dp_ws_client_key(ws_key) != 0)
		return client_fail(L, c, "%s: %s", "no random key");
	lua_pushfstring(L, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s%s\r\n",
			path, authority, ws_key, offered ? "Sec-WebSocket-Protocol: " : "", offered ? offered : "",
			offered ? "\r\n" : "", extra);
	{
		size_t n, off = 0;
		const char *req = lua_tolstring(L, -1, &n);
		while (off < n) {
			long k = dp_io_write(&c->w.io, req + off, n - off);
			if (k > 0) {
				off += (size_t)k;
			} else if (k == DP_IO_AGAIN) {
				int w = wait_io(&c->w.io, 0, 1, deadline);
				if (w <= 0)
					return client_fail(L, c, "sending to %s: %s", w == 0 ? "timed out" : "interrupted");
			} else {
				return client_fail(L, c, "cannot send to %s: %s", dp_io_error(&c->w.io));
			}
		}
		lua_pop(L, 1);
	}
	for (;;) {
		dp_head h;
		long end = dp_head_parse(head, hlen, &h), k;
		if (end < 0)
			return client_fail(L, c, "%s: %s", "the answer is not HTTP");
		if (end > 0) {
			if (h.status != 101) {
				char msg[64];
				snprintf(msg, sizeof msg, "the server answered %d, not 101", h.status);
				return client_fail(L, c, "%s: %s", msg);
			}
			if (dp_ws_client_verify(head, hlen, ws_key, offered, &chosen, &why) != 0)
				return client_fail(L, c, "%s: %s", why);
			if (chosen.len)
				snprintf(c->protocol, sizeof c->protocol, "%.*s", (int)chosen.len, head + chosen.off);
			if ((size_t)end < hlen) {
				c->w.pre = malloc(hlen - (size_t)end);
				if (!c->w.pre)
					return client_fail(L, c, "%s: %s", "out of memory");
				memcpy(c->w.pre, head + end, hlen - (size_t)end);
				c->w.pre_len = hlen - (size_t)end;
			}
			break;
		}
		if (hlen == sizeof head)
			return client_fail(L, c, "%s: %s", "the answer's head is too large");
		k = dp_io_read(&c->w.io, head + hlen, sizeof head - hlen);
		if (k > 0) {
			hlen += (size_t)k;
		} else if (k == DP_IO_AGAIN) {
			int w = wait_io(&c->w.io, 1, 0, deadline);
			if (w <= 0)
				return client_fail(L, c, "waiting for %s: %s", w == 0 ? "timed out" : "interrupted");
		} else {
			return client_fail(L, c, "%s: %s", k == 0 ? "the server closed the connection"
								 : dp_io_error(&c->w.io));
		}
	}
	if (wslay_event_context_client_init(&c->ctx, &cbs, &c->w) != 0)
		return client_fail(L, c, "%s: %s", "out of memory");
	wslay_event_config_set_max_recv_msg_length(c->ctx, max_message);
	return 1;
}

static int c_send(lua_State *L)
{
	ws_client *c = check_client(L, 1);
	int ch = dp_check_int(L, 2, 0, 255);
	size_t n;
	const char *data = luaL_checklstring(L, 3, &n);
	long deadline = deadline_of(L, 4, -1);
	struct wslay_event_msg m;
	unsigned char *buf;
	int r;

	buf = malloc(n + 1);
	if (!buf)
		return luaL_error(L, "out of memory");
	buf[0] = (unsigned char)ch;
	memcpy(buf + 1, data, n);
	m.opcode = WSLAY_BINARY_FRAME;
	m.msg = buf;
	m.msg_length = n + 1;
	r = wslay_event_queue_msg(c->ctx, &m); /* copies it */
	free(buf);
	if (r != 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "cannot send to %s: the connection is closing", c->url);
		return 2;
	}
	if (client_flush(c, deadline) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, c->err);
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* flush([timeout]) -> true once everything queued is sent, false if some still is when the
 * timeout (0: no wait at all; nil: as long as it takes) is over, nil, message on a failure. */
static int c_flush(lua_State *L)
{
	ws_client *c = check_client(L, 1);
	int wait = luaL_optnumber(L, 2, -1) != 0;
	long deadline = deadline_of(L, 2, -1);
	if (client_send_some(c) != 0 || (wait && wslay_event_want_write(c->ctx) &&
					 client_flush(c, deadline) != 0 && c->w.failed)) {
		lua_pushnil(L);
		lua_pushstring(L, c->err);
		return 2;
	}
	lua_pushboolean(L, !wslay_event_want_write(c->ctx));
	return 1;
}

/* pending() -> n: the messages read and not yet taken by read(), which poll cannot see. */
static int c_pending(lua_State *L)
{
	ws_client *c = check_client(L, 1);
	lua_Integer n = 0;
	const message *m;
	for (m = c->head; m; m = m->next)
		n++;
	lua_pushinteger(L, n);
	return 1;
}

static int push_closed(lua_State *L, ws_client *c)
{
	lua_pushnil(L);
	lua_pushliteral(L, "closed");
	lua_pushinteger(L, c->code);
	lua_pushstring(L, c->reason);
	return 4;
}

static int c_read(lua_State *L)
{
	ws_client *c = check_client(L, 1);
	long deadline = deadline_of(L, 2, -1);
	for (;;) {
		int w;
		if (c->head) {
			message *m = c->head;
			c->head = m->next;
			if (!c->head)
				c->tail = NULL;
			c->queued -= m->len;
			c->w.hold = c->queued >= CLIENT_QUEUE_MAX;
			lua_pushinteger(L, m->data[0]);
			lua_pushlstring(L, (const char *)m->data + 1, m->len - 1);
			free(m);
			return 2;
		}
		if (c->closed) {
			client_flush(c, now_ms() + CLOSE_WAIT_MS); /* the close's answer */
			return push_closed(L, c);
		}
		if (c->w.eof || c->w.failed || !wslay_event_get_read_enabled(c->ctx)) {
			c->closed = 1;
			/* 1006 for a connection that ended without a close frame; the code of the
			 * close this side sent when it ended the reading (a message over max_message) */
			c->code = wslay_event_get_close_sent(c->ctx) &&
					  wslay_event_get_status_code_sent(c->ctx) != WSLAY_CODE_NO_STATUS_RCVD
					  ? wslay_event_get_status_code_sent(c->ctx) : 1006;
			snprintf(c->reason, sizeof c->reason, "%s", c->w.failed ? dp_io_error(&c->w.io) : "");
			continue;
		}
		if (wslay_event_recv(c->ctx) != 0 && !c->w.eof && !c->w.failed) {
			lua_pushnil(L);
			lua_pushfstring(L, "reading from %s failed", c->url);
			return 2;
		}
		/* pongs, a close's answer, what send left queued: as the socket takes them, so that
		 * a read never waits longer than it was told to for a server that does not read */
		client_send_some(c);
		if (c->head || c->closed || c->w.eof || c->w.failed || !wslay_event_get_read_enabled(c->ctx))
			continue;
		w = wait_io(&c->w.io, 1, wslay_event_want_write(c->ctx), deadline);
		if (w == 0) {
			lua_pushboolean(L, 0);
			return 1;
		}
		if (w < 0) {
			lua_pushnil(L);
			lua_pushfstring(L, "reading from %s %s", c->url, w == -1 ? "interrupted by a signal" : "failed");
			return 2;
		}
	}
}

static int c_protocol(lua_State *L)
{
	ws_client *c = check_client(L, 1);
	if (c->protocol[0])
		lua_pushstring(L, c->protocol);
	else
		lua_pushnil(L);
	return 1;
}

static int c_fileno(lua_State *L)
{
	lua_pushinteger(L, check_client(L, 1)->w.io.fd);
	return 1;
}

/* close([code, reason]) on an open one: the close handshake, bounded; then, and on __gc, the release */
static int c_close(lua_State *L)
{
	ws_client *c = luaL_checkudata(L, 1, WS_CLIENT);
	if (c->w.io.fd >= 0 && c->ctx && lua_type(L, 2) == LUA_TNUMBER) {
		size_t rl = 0;
		int code = dp_check_int(L, 2, 1000, 4999);
		const char *reason = luaL_optlstring(L, 3, "", &rl);
		long deadline = now_ms() + CLOSE_WAIT_MS;
		luaL_argcheck(L, rl <= 123, 3, "longer than 123 bytes");
		/* what was queued first: wslay would send the close ahead of it, and nothing after;
		 * a server that takes none of it within the wait still gets the close */
		if (client_flush(c, deadline) != 0)
			deadline = now_ms() + CLOSE_WAIT_MS;
		if (wslay_event_queue_close(c->ctx, (uint16_t)code, (const uint8_t *)reason, rl) == 0 &&
		    client_flush(c, deadline) == 0) {
			while (!c->closed && !c->w.eof && !c->w.failed && wslay_event_get_read_enabled(c->ctx) &&
			       wait_io(&c->w.io, 1, 0, deadline) == 1)
				if (wslay_event_recv(c->ctx) != 0)
					break;
		}
	} else if (c->w.io.fd >= 0 && c->ctx && !wslay_event_get_close_sent(c->ctx)) {
		long deadline = now_ms() + CLOSE_WAIT_MS;
		if (client_flush(c, deadline) != 0)
			deadline = now_ms() + CLOSE_WAIT_MS;
		if (wslay_event_queue_close(c->ctx, 1000, NULL, 0) == 0)
			client_flush(c, deadline);
	}
	client_release(c);
	return 0;
}

static int c_gc(lua_State *L)
{
	client_release(luaL_checkudata(L, 1, WS_CLIENT));
	return 0;
}

static int c_tostring(lua_State *L)
{
	ws_client *c = luaL_checkudata(L, 1, WS_CLIENT);
	lua_pushfstring(L, WS_CLIENT " (%s%s)", c->url, c->w.io.fd < 0 ? ", closed" : "");
	return 1;
}

void dp_websocket_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"send", c_send},
		{"flush", c_flush},
		{"pending", c_pending},
		{"read", c_read},
		{"protocol", c_protocol},
		{"fileno", c_fileno},
		{"close", c_close},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__gc", c_gc},
		{"__close", c_gc},
		{"__tostring", c_tostring},
		{NULL, NULL},
	};
	dp_new_class(L, WS_CLIENT, meta, methods);
	lua_pushcfunction(L, l_ws_connect);
	lua_setfield(L, -2, "ws_connect");
}
