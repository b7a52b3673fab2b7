/*
 * The gateway's event loop: one epoll set over the listener, every client connection and
 * every session's engine stream. A connection's request head is read and checked here (a bad
 * one is answered by C and never reaches Lua); Lua answers it or upgrades it to a session,
 * and from then on bytes go between the engine stream and WebSocket messages in C.
 *
 *   core.gateway(listener, opts) -> gw        opts, each bounding one connection:
 *     max_head (bytes, 16384), head_timeout (s, 10: the whole head and body, TLS's handshake
 *     included), max_body (bytes, 4096: a request's body, read whole before Lua hears of the
 *     request; larger is 413, one without a Content-Length 411),
 *     max_pending (bytes queued towards a client, each message counting 64 more, 1 MiB: more
 *     and it is dropped, 1008 "too slow"), max_message (largest message from a client, 1 MiB:
 *     larger, 1009; at most 256 fragments, else 1008), max_connections (10000, and never more
 *     than half the descriptors RLIMIT_NOFILE leaves), max_heads (connections whose head has
 *     not come, 1024: at the bound the oldest gives way), max_heads_per_peer (of those, from one
 *     address, 256: more are closed at once), ping_interval (s, 30; 0 for none), ping_timeout
 *     (s, 60: no frame at all within it after a ping ends the session, 1008), close_timeout (s, 5),
 *     idle_timeout (s, 0 for none: a session across which no data has gone either way for so
 *     long ends, "idle"; pings and pongs are no data, nor a read-only client's dropped input)
 *   gw:run([timeout, [fds]]) -> events, interrupted    waits up to timeout seconds (nil: until
 *     an event) and returns what happened since the last call, early on a signal (one that came
 *     since the last call, between two runs, counts). fds: Lua's own descriptors ({n, ...},
 *     such as the engine requests it has in flight), watched during this run only:
 *     {kind="ready", fd=}           one of fds is readable (or at its end)
 *     {kind="request", conn=, method=, target=, headers={lowercase name = value}, body=, peer=,
 *      tls=, client_cert=subject|nil}   body: "" when the request has none
 *     {kind="closed", conn=}        a connection Lua was told of went before an answer
 *     {kind="resize", session=, width=, height=}   input the client sent after it reaches
 *       the stream only at the next run, once Lua has had it (a command typed after a resize
 *       runs at the new size)
 *     {kind="input_dropped", session=}   once: a read-only session's client sent input or a
 *       resize (both dropped); the client is told on channel 2, once
 *     {kind="ended", session=, why="client"|"engine"|"slow"|"ping"|"error"|"idle", message=}
 *       the engine's end ("engine", and "error" for its failures, its error frames, or a stream
 *       Lua closed) and the idle timeout ("idle": the stream is closed) leave the WebSocket
 *       open for send_status and close; the others have
 *       closed it ("error" also for a client that broke the protocol: 1002 for a frame, 1008
 *       for a channel message: text, no channel, one a client may not send, a bad resize)
 *   gw:respond(conn, status, headers, body) -> true | nil, message    then the connection closes
 *   gw:upgrade(conn, {stream=, tty=, read_only=, protocol=, headers=, record=}) -> session | nil, message
 *     record: the path of an asciicast v2 file Lua made and wrote the header of; the output
 *     and resizes are appended as events (core.cast_event's), until the session ends or a
 *     write fails: {kind="record_failed", session=, message=}
 *     the 101 answer; the session's id is the connection's; the stream is the gateway's from
 *     now on, closed when the session ends. Engine output goes as [1|2][bytes]; [0][bytes]
 *     from the client goes to the stream, [4][json] becomes a resize, [255][0] half-closes it
 *   gw:send_status(session, json) -> boolean        [3][json]
 *   gw:hold_input(session, on) -> boolean           on: input typed after a resize is held,
 *     beyond the next run, until hold_input(session, false): the resize has reached the engine
 *   gw:close(id[, code, reason]) -> boolean         a session: the stream closed, the close
 *     frame after every message queued before it, the socket closed once the client has taken
 *     none of them for close_timeout; a connection: closed. No event. The
 *     code is one a peer may send (1000-1011 but 1004-1006, or 3000-4999), else it raises.
 *   gw:close()  (and __gc, __close) closes every connection and stream; the listener is the
 *   caller's.   gw:fileno() the epoll descriptor;
 *   gw:stats() -> {connections=, sessions=, max_connections= (after the descriptors' cap)}
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dockerpty.h"
#include "gateway.h"
#include "proto.h"

#define GATEWAY "dockerpty.Gateway"
#define FIELDS_MAX 64
#define READ_CHUNK ((size_t)64 * 1024)
#define READS_PER_STEP 4 /* engine reads per session and turn, so that one cannot starve others */
#define BULK_BYTES ((size_t)2048) /* an engine read this long, twice in a row, is output in bulk */
#define REST_MS 1 /* how long a session in bulk leaves the engine's stream unwatched */
#define EV_ENGINE (1u << 20) /* no epoll bit: a step for the engine's stream alone */
#define ACCEPTS_PER_STEP 64
#define EVENTS_MAX 256
#define LINGER_MS 2000 /* after an answer: what the client still sends is read and dropped */
#define CLIENT_BUDGET ((size_t)256 * 1024) /* bytes read from one client per turn, for fairness */
#define QUEUED_MSG_COST 64 /* what a queued message costs beyond its bytes (an empty pong too) */
#define MAX_FRAGMENTS 256 /* frames in one client message: each costs wslay a chunk of its own */
#define ACCEPT_PAUSE_MS 100 /* out of descriptors: the listener rests this long */
#define FDS_RESERVED 64 /* descriptors kept for the engine's requests and the rest of the process */
#define EXTRA_MAX 4096 /* Lua's own descriptors one run may watch */

enum { ST_TLS, ST_HEAD, ST_LUA, ST_RESPOND, ST_LINGER, ST_WS, ST_CLOSING, ST_DEAD };

typedef struct gateway gateway;
typedef struct conn conn;

typedef struct {
	conn *c; /* NULL: the listener, or one of Lua's own (extra) */
	int fd;  /* -1: none */
	int added, extra;
	uint32_t mask;
} watch;

typedef struct {
	dp_request r;
	dp_req_field fields[FIELDS_MAX];
	size_t len;
	size_t need; /* 0 while the head comes; then its length and the body's */
	char buf[]; /* max_head + 1 (one byte more than allowed, so the parser sees it), or need */
} head_state;

struct conn {
	lua_Integer id;
	int state;
	gateway *g;
	dp_wsio w;
	watch wc, we; /* the client's socket, the engine stream's */
	char peer[DP_PEER_MAX];
	long deadline; /* ms on the monotonic clock, 0 for none */
	head_state *head; /* from accept until Lua answers */
	char *out; /* a plain answer, or the 101's head: sent before any frame */
	size_t out_len, out_pos;
	unsigned reported : 1, answered : 1, tls : 1, tty : 1, read_only : 1, told_dropped : 1,
		drop_pending : 1, resize_pending : 1, client_closed : 1, too_big : 1, ended : 1,
		engine_try : 1, client_try : 1, input_gone : 1, engine_writable : 1, rdhup : 1,
		fenced : 1, close_later : 1, bulk : 1, fence_held : 1;
	int half_close; /* 1: asked for, 2: done */
	const char *bad; /* why a client message broke the channel protocol (1008), or NULL */
	int width, height;
	/* session */
	wslay_event_context_ptr ws;
	dp_stream *stream; /* also in the streams table, by id, until released */
	dp_demux demux;
	char *in; /* client input the engine has not taken yet */
	size_t in_len, in_pos;
	size_t fence_at; /* when fenced: input from here on came after a resize Lua has not had */
	uint64_t msg_len; /* of the message being received */
	unsigned fragments; /* of the message being received */
	long last_ping, ping_sent;
	long last_data; /* ms: the last data either way, for idle_timeout */
	long engine_rest; /* ms: while output comes in bulk, the engine is read again then; or 0 */
	/* the session's recording (asciicast v2, its header written by Lua), or -1 */
	int rec_fd;
	struct timespec rec_start;
	unsigned char rec_carry[4];
	size_t rec_carry_len;
	/* Lua's close, held until what was queued before it is out: wslay sends a control frame
	 * ahead of queued messages, and nothing after a close */
	int close_code;
	char close_reason[124];
	unsigned long long close_sent; /* w.sent when the client last took some */
};

struct gateway {
	int ep; /* -1 once closed */
	dp_listener *listener;
	watch wl;
	watch *extra; /* Lua's own descriptors, watched during one run */
	size_t n_extra;
	conn **conns;
	size_t n, cap, sessions;
	lua_Integer next_id;
	int listener_ref, events_ref, streams_ref;
	lua_State *L; /* the calling thread, set by every method */
	size_t max_head, max_body, max_pending, max_message, max_connections, max_heads, max_heads_per_peer;
	long head_timeout, ping_interval, ping_timeout, close_timeout, idle_timeout; /* ms */
	char *raw, *scratch; /* READ_CHUNK + 1 each: engine reads, messages being queued */
	char *cast; /* DP_CAST_MAX(READ_CHUNK): a recording's event, once a session records */
	int dirty; /* connections to sweep */
	long accept_pause; /* ms on the monotonic clock until which accept rests, or 0 */
	long signals_seen; /* dp_interrupt_count when the last run returned */
};

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- events for Lua ---- */

static void event_begin(gateway *g, const char *kind, const char *idname, lua_Integer id)
{
	lua_State *L = g->L;
	lua_createtable(L, 0, 6);
	lua_pushstring(L, kind);
	lua_setfield(L, -2, "kind");
	lua_pushinteger(L, id);
	lua_setfield(L, -2, idname);
}

static void event_end(gateway *g)
{
	lua_State *L = g->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, g->events_ref);
	lua_insert(L, -2);
	lua_rawseti(L, -2, (int)lua_rawlen(L, -2) + 1);
	lua_pop(L, 1);
}

static int events_waiting(gateway *g)
{
	int n;
	lua_rawgeti(g->L, LUA_REGISTRYINDEX, g->events_ref);
	n = (int)lua_rawlen(g->L, -1);
	lua_pop(g->L, 1);
	return n;
}

/* ---- recordings ---- */

static void rec_close(conn *c)
{
	if (c->rec_fd >= 0)
		close(c->rec_fd);
	c->rec_fd = -1;
}

/* Appends an event to the session's recording. A write that fails ends the recording, and
 * Lua is told: {kind="record_failed", session=, message=}. */
static void rec_event(gateway *g, conn *c, char code, const char *data, size_t n)
{
	struct timespec now;
	double t;
	size_t len, off = 0;

	if (c->rec_fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (double)(now.tv_sec - c->rec_start.tv_sec) + (double)(now.tv_nsec - c->rec_start.tv_nsec) / 1e9;
	len = dp_cast_event(g->cast, t < 0 ? 0 : t, code, data, n, c->rec_carry, &c->rec_carry_len);
	while (off < len) {
		ssize_t k = write(c->rec_fd, g->cast + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			event_begin(g, "record_failed", "session", c->id);
			lua_pushstring(g->L, k < 0 ? strerror(errno) : "nothing written");
			lua_setfield(g->L, -2, "message");
			event_end(g);
			rec_close(c);
			return;
		}
		off += (size_t)k;
	}
}

/* ---- epoll ---- */

static void watch_set(gateway *g, watch *w, uint32_t mask)
{
	struct epoll_event ev;
	if (w->fd < 0 || (w->added && w->mask == mask))
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = mask;
	ev.data.ptr = w;
	if (epoll_ctl(g->ep, w->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) == 0) {
		w->added = 1;
		w->mask = mask;
	}
}

static void watch_drop(gateway *g, watch *w)
{
	if (w->fd >= 0 && w->added)
		epoll_ctl(g->ep, EPOLL_CTL_DEL, w->fd, NULL);
	w->added = 0;
	w->fd = -1;
}

/* Idempotent: on every way out of a run, and before the next (a run that raised). */
static void extra_drop(gateway *g)
{
	size_t i;
	for (i = 0; i < g->n_extra; i++)
		watch_drop(g, &g->extra[i]);
	free(g->extra);
	g->extra = NULL;
	g->n_extra = 0;
}

static uint32_t io_mask(const dp_io *io, int rd, int wr)
{
	short ev = dp_io_events(io, rd, wr);
	return ((ev & POLLIN) ? EPOLLIN : 0) | ((ev & POLLOUT) ? EPOLLOUT : 0);
}

/* ---- a connection's end ---- */

/* The stream's own close, through Lua: the stream object keeps its one owner's close. */
static void release_stream(gateway *g, conn *c)
{
	lua_State *L = g->L;
	if (!c->stream)
		return;
	if (dp_stream_fd(c->stream) != c->we.fd)
		c->we.added = 0; /* closed by Lua: the kernel has dropped it, and the number may be another's */
	watch_drop(g, &c->we);
	c->stream = NULL;
	c->engine_try = 0; /* nothing more to read from it, */
	c->fenced = 0;     /* nor input to hold back for it */
	/* input the engine will never take: the client is read again (pongs, its close) */
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_pos = 0;
	if (c->w.hold) {
		c->w.hold = 0;
		c->client_try = 1;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, g->streams_ref);
	lua_rawgeti(L, -1, (int)c->id);
	lua_getfield(L, -1, "close");
	lua_insert(L, -2);
	if (lua_pcall(L, 1, 0, 0) != 0)
		lua_pop(L, 1); /* a close cannot fail; an error here leaves it to __gc */
	lua_pushnil(L);
	lua_rawseti(L, -2, (int)c->id);
	lua_pop(L, 1);
}

static void end_session(gateway *g, conn *c, const char *why, const char *message)
{
	if (c->ended)
		return;
	c->ended = 1;
	event_begin(g, "ended", "session", c->id);
	lua_pushstring(g->L, why);
	lua_setfield(g->L, -2, "why");
	if (message) {
		lua_pushstring(g->L, message);
		lua_setfield(g->L, -2, "message");
	}
	event_end(g);
}

static void kill_conn(gateway *g, conn *c)
{
	if (c->state == ST_DEAD)
		return;
	if (c->reported && !c->answered && !c->ws) {
		event_begin(g, "closed", "conn", c->id);
		event_end(g);
	}
	release_stream(g, c);
	rec_close(c);
	watch_drop(g, &c->wc);
	if (c->ws) {
		wslay_event_context_free(c->ws);
		c->ws = NULL;
		g->sessions--;
	}
	dp_wsio_free(&c->w);
	free(c->head);
	c->head = NULL;
	free(c->out);
	c->out = NULL;
	free(c->in);
	c->in = NULL;
	c->state = ST_DEAD;
	g->dirty = 1;
}

static void sweep(gateway *g)
{
	size_t i = 0;
	if (!g->dirty)
		return;
	while (i < g->n) {
		if (g->conns[i]->state == ST_DEAD) {
			free(g->conns[i]);
			g->conns[i] = g->conns[--g->n];
		} else {
			i++;
		}
	}
	g->dirty = 0;
}

/* A session's close frame now, ahead of anything still queued (wslay sends control frames
 * first, and nothing after a close), then the socket within close_timeout. */
static void start_close(gateway *g, conn *c, int code, const char *reason)
{
	release_stream(g, c);
	c->close_later = 0;
	if (!wslay_event_get_close_sent(c->ws))
		wslay_event_queue_close(c->ws, (uint16_t)code, (const uint8_t *)reason, strlen(reason));
	c->state = ST_CLOSING;
	c->deadline = now_ms() + g->close_timeout;
}

/* A session's close frame once every message queued before it is out: the socket closes
 * within close_timeout of the client's last progress in taking them. */
static void close_after_queue(gateway *g, conn *c, int code, const char *reason)
{
	if (!wslay_event_get_queued_msg_count(c->ws) || c->state != ST_WS) {
		start_close(g, c, code, reason);
		return;
	}
	release_stream(g, c);
	c->close_later = 1;
	c->close_code = code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
	c->close_sent = c->w.sent;
	c->state = ST_CLOSING;
	c->deadline = now_ms() + g->close_timeout;
}

/* wslay_event_send, and a held close queued once what was before it is out. */
static int ws_send(gateway *g, conn *c)
{
	int r = wslay_event_send(c->ws);
	if (r != 0 || !c->close_later)
		return r;
	if (c->w.sent != c->close_sent) { /* it reads: its close_timeout starts again */
		c->close_sent = c->w.sent;
		c->deadline = now_ms() + g->close_timeout;
	}
	if (wslay_event_get_queued_msg_count(c->ws))
		return 0;
	c->close_later = 0;
	if (!wslay_event_get_close_sent(c->ws))
		wslay_event_queue_close(c->ws, (uint16_t)c->close_code, (const uint8_t *)c->close_reason,
					strlen(c->close_reason));
	return wslay_event_send(c->ws);
}

/* ---- plain answers ---- */

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

/* Takes the whole answer (owned); the connection closes once it is out. */
static void answer(gateway *g, conn *c, char *out, size_t len)
{
	free(c->head);
	c->head = NULL;
	free(c->out);
	c->out = out;
	c->out_len = len;
	c->out_pos = 0;
	c->answered = 1;
	c->state = ST_RESPOND;
	c->deadline = now_ms() + g->close_timeout;
}

/* C's own refusal of a head, with the parser's reason as its body. */
static void refuse(gateway *g, conn *c, int status, const char *reason, const char *extra)
{
	char *out = malloc(512);
	int n;
	if (!out) {
		kill_conn(g, c);
		return;
	}
	n = snprintf(out, 512,
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
		     "%sConnection: close\r\n\r\n%s\n",
		     status, reason_phrase(status), strlen(reason) + 1, extra, reason);
	answer(g, c, out, n > 0 && n < 512 ? (size_t)n : 0);
	c->answered = 0; /* Lua never heard of it */
}

/* ---- the head ---- */

static void push_request(gateway *g, conn *c)
{
	lua_State *L = g->L;
	head_state *h = c->head;
	char name[256];
	size_t i, k;

	c->reported = 1;
	event_begin(g, "request", "conn", c->id);
	lua_pushlstring(L, h->buf, h->r.method_len);
	lua_setfield(L, -2, "method");
	lua_pushlstring(L, h->buf + h->r.target, h->r.target_len);
	lua_setfield(L, -2, "target");
	lua_createtable(L, 0, (int)h->r.nfields);
	for (i = 0; i < h->r.nfields; i++) {
		const dp_req_field *f = &h->r.fields[i];
		size_t nl = f->name_len < sizeof name ? f->name_len : sizeof name;
		for (k = 0; k < nl; k++) {
			char ch = h->buf[f->name + k];
			name[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
		}
		lua_pushlstring(L, name, nl);
		lua_pushvalue(L, -1);
		lua_rawget(L, -3);
		if (lua_isnil(L, -1)) { /* the first */
			lua_pop(L, 1);
			lua_pushlstring(L, h->buf + f->value, f->value_len);
		} else { /* fields given more than once: one list, as RFC 9110 joins them */
			lua_pushliteral(L, ", ");
			lua_pushlstring(L, h->buf + f->value, f->value_len);
			lua_concat(L, 3);
		}
		lua_rawset(L, -3);
	}
	lua_setfield(L, -2, "headers");
	if (h->need)
		lua_pushlstring(L, h->buf + h->r.length, h->need - h->r.length);
	else
		lua_pushliteral(L, "");
	lua_setfield(L, -2, "body");
	lua_pushstring(L, c->peer);
	lua_setfield(L, -2, "peer");
	lua_pushboolean(L, c->tls);
	lua_setfield(L, -2, "tls");
	if (c->w.io.ssl) {
		X509 *cert = SSL_get_peer_certificate(c->w.io.ssl);
		if (cert) {
			char subject[512];
			X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
			X509_free(cert);
			lua_pushstring(L, subject);
			lua_setfield(L, -2, "client_cert");
		}
	}
	event_end(g);
}

/* What the request says of its body once the head is whole: 0 and h->need set (the head's
 * length and the body's: 0 for none), or -1 when C has refused it. */
static int body_of(gateway *g, conn *c)
{
	head_state *h = c->head;
	if (h->r.chunked) {
		refuse(g, c, 411, "a body needs a Content-Length", "");
		return -1;
	}
	if (h->r.content_length > (long long)g->max_body) {
		char why[64];
		snprintf(why, sizeof why, "the body is larger than %zu bytes", g->max_body);
		refuse(g, c, 413, why, "");
		return -1;
	}
	h->need = h->r.content_length > 0 ? h->r.length + (size_t)h->r.content_length : 0;
	if (h->need > g->max_head + 1) { /* a body past the head's room: grown to hold it */
		head_state *grown = realloc(h, sizeof *h + h->need);
		if (!grown) {
			kill_conn(g, c);
			return -1;
		}
		c->head = grown;
	}
	return 0;
}

static void read_head(gateway *g, conn *c)
{
	head_state *h = c->head;
	size_t cap = g->max_head + 1;
	if (!h) { /* on the first bytes: a connection that sends nothing holds no buffer */
		h = c->head = malloc(sizeof *c->head + cap);
		if (!h) {
			kill_conn(g, c);
			return;
		}
		h->len = h->need = 0;
		dp_request_init(&h->r, g->max_head, g->max_head, h->fields, FIELDS_MAX);
	}
	for (;;) {
		long k;
		int rc;
		if (h->need) { /* the head is whole: the body's bytes, not one more */
			if (h->len >= h->need)
				break;
			k = dp_io_read(&c->w.io, h->buf + h->len, h->need - h->len);
			if (k == DP_IO_AGAIN)
				return;
			if (k <= 0) {
				kill_conn(g, c); /* gone before its whole body */
				return;
			}
			h->len += (size_t)k;
			continue;
		}
		if (h->len == cap) { /* the parser has refused already: never */
			refuse(g, c, 431, "the head is too large", "");
			return;
		}
		k = dp_io_read(&c->w.io, h->buf + h->len, cap - h->len);
		if (k == DP_IO_AGAIN)
			return;
		if (k <= 0) {
			kill_conn(g, c); /* gone before a whole head: Lua never hears of it */
			return;
		}
		h->len += (size_t)k;
		rc = dp_request_parse(&h->r, h->buf, h->len);
		if (rc == DP_REQ_ERROR) {
			refuse(g, c, h->r.status, h->r.reason, "");
			return;
		}
		if (rc == DP_REQ_DONE) {
			if (body_of(g, c) != 0)
				return;
			h = c->head;
			if (!h->need)
				break;
		}
	}
	c->state = ST_LUA;
	c->deadline = 0;
	push_request(g, c);
}

/* ---- a session ---- */

static conn *conn_of(void *user)
{
	return (conn *)((char *)user - offsetof(conn, w));
}

static void on_frame_start(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *arg,
			   void *user)
{
	conn *c = conn_of(user);
	c->ping_sent = 0; /* any frame says the client is there, as a pong does */
	if (arg->opcode & 0x8)
		return; /* control frames are small, and bounded by the protocol */
	if (arg->opcode == WSLAY_CONTINUATION_FRAME) {
		c->msg_len += arg->payload_length;
		if (++c->fragments > MAX_FRAGMENTS && !c->bad) {
			c->bad = "a message in too many fragments";
			wslay_event_shutdown_read(ctx); /* before wslay buffers any more of them */
		}
	} else {
		c->msg_len = arg->payload_length;
		c->fragments = 1;
	}
	if (c->msg_len > c->g->max_message)
		c->too_big = 1;
}

static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
		       void *user)
{
	conn *c = conn_of(user);
	gateway *g = c->g;
	const uint8_t *data;
	size_t len;
	int ch, w, h;

	if (arg->opcode == WSLAY_PONG) {
		c->ping_sent = 0;
		return;
	}
	if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		c->client_closed = 1;
		c->width = arg->status_code; /* kept for the message: no resize can follow a close */
		return;
	}
	if (arg->opcode != WSLAY_BINARY_FRAME && arg->opcode != WSLAY_TEXT_FRAME)
		return;
	if (c->bad || c->too_big)
		return; /* the session ends: nothing after that message counts */
	if (arg->opcode == WSLAY_TEXT_FRAME) {
		c->bad = "a text message";
		wslay_event_shutdown_read(ctx);
		return;
	}
	ch = dp_ws_channel(arg->msg, arg->msg_length, &data, &len, &w, &h);
	if (ch < 0 || (ch != DP_CH_STDIN && ch != DP_CH_RESIZE && ch != DP_CH_CLOSE)) {
		c->bad = arg->msg_length == 0 ? "a message without a channel"
			 : arg->msg[0] == DP_CH_RESIZE ? "a resize that is not {\"Width\":w,\"Height\":h}"
			 : arg->msg[0] == DP_CH_CLOSE ? "a close of another channel than stdin"
						      : "a message on a channel a client may not send on";
		wslay_event_shutdown_read(ctx);
		return;
	}
	if (c->read_only && (ch == DP_CH_RESIZE || (ch == DP_CH_STDIN && len))) {
		c->drop_pending = !c->told_dropped;
		return;
	}
	if (ch == DP_CH_STDIN && len) {
		size_t left = c->in_len - c->in_pos;
		char *grown;
		if (c->input_gone || c->half_close || !c->stream)
			return;
		if (left + len > g->max_message + READ_CHUNK) { /* never: reads hold while input waits */
			c->too_big = 1;
			return;
		}
		if (c->in_pos) {
			if (c->fenced)
				c->fence_at -= c->in_pos;
			memmove(c->in, c->in + c->in_pos, left);
			c->in_pos = 0;
			c->in_len = left;
		}
		grown = realloc(c->in, left + len);
		if (!grown) {
			c->too_big = 1;
			return;
		}
		c->in = grown;
		memcpy(c->in + c->in_len, data, len);
		c->in_len += len;
		c->last_data = now_ms();
		c->w.hold = 1; /* no more from the client until the engine has taken this */
	} else if (ch == DP_CH_RESIZE) {
		if (!c->stream)
			return; /* the session's end has come: nothing to resize */
		c->width = w;
		c->height = h;
		c->resize_pending = 1;
		if (c->rec_fd >= 0) {
			char size[32];
			rec_event(c->g, c, 'r', size, (size_t)snprintf(size, sizeof size, "%dx%d", w, h));
		}
		if (!c->fenced) { /* what is typed after it is typed at the new size */
			c->fenced = 1;
			c->fence_at = c->in_len;
		}
		c->last_data = now_ms();
	} else if (ch == DP_CH_CLOSE && !c->half_close && !c->read_only) {
		c->half_close = 1;
	}
}

static int queue_output(gateway *g, conn *c, int channel, const char *data, size_t n);

/* The container's output: recorded, then queued towards the client. */
static int engine_output(gateway *g, conn *c, int channel, const char *data, size_t n)
{
	rec_event(g, c, 'o', data, n);
	return queue_output(g, c, channel, data, n);
}

/* Queues [channel][bytes] towards the client. */
static int queue_output(gateway *g, conn *c, int channel, const char *data, size_t n)
{
	struct wslay_event_msg m;
	if (data != g->scratch + 1)
		memcpy(g->scratch + 1, data, n);
	g->scratch[0] = (char)channel;
	m.opcode = WSLAY_BINARY_FRAME;
	m.msg = (const uint8_t *)g->scratch;
	m.msg_length = n + 1;
	return wslay_event_queue_msg(c->ws, &m);
}

/* Whether what waits for the client is over max_pending, counting each message's cost: a
 * flood of empty pongs is no free memory. */
static int over_pending(gateway *g, conn *c)
{
	size_t n = wslay_event_get_queued_msg_count(c->ws);
	return wslay_event_get_queued_msg_length(c->ws) + QUEUED_MSG_COST * n > g->max_pending;
}

/* Once the engine's stream has ended, the queue holds its last output and the status, which
 * Lua's close waits for: only pongs past twice the bound (a client that pings and does not
 * read) drop it. */
static int over_pending_after_end(gateway *g, conn *c)
{
	size_t n = wslay_event_get_queued_msg_count(c->ws);
	return wslay_event_get_queued_msg_length(c->ws) + QUEUED_MSG_COST * n > 2 * g->max_pending;
}

static void drop_slow(gateway *g, conn *c)
{
	wslay_event_shutdown_read(c->ws); /* nothing more is taken from a client over its bound */
	if (c->state == ST_WS) {
		end_session(g, c, "slow", "the client read too slowly");
		start_close(g, c, 1008, "too slow");
	}
}

/* Queues the demuxed chunks of one read, those of one channel in a row as one message. 0, or
 * -2 for a corrupt stream, or -1 when the engine sent what is no output (its error frame, or
 * stdin's type), with *bad and *bad_len its payload. */
static int queue_demuxed(gateway *g, conn *c, size_t k, const char **bad, size_t *bad_len)
{
	size_t pos = 0, have = 0;
	int ch = -1;
	while (pos < k) {
		const char *out;
		size_t out_len, used;
		int type, och;
		used = dp_demux_next(&c->demux, g->raw + pos, k - pos, &out, &out_len, &type);
		if (used == (size_t)-1)
			return -2;
		pos += used;
		if (!out_len)
			continue;
		if (type != DP_STDOUT && type != DP_STDERR) {
			*bad = out;
			*bad_len = out_len;
			return -1;
		}
		och = type == DP_STDOUT ? DP_CH_STDOUT : DP_CH_STDERR;
		if (have && och != ch) {
			engine_output(g, c, ch, g->scratch + 1, have);
			have = 0;
		}
		ch = och;
		memcpy(g->scratch + 1 + have, out, out_len); /* never more than was read */
		have += out_len;
	}
	if (have)
		engine_output(g, c, ch, g->scratch + 1, have);
	return 0;
}

static void engine_read(gateway *g, conn *c)
{
	int i;
	size_t have = 0, got = 0; /* have: tty output gathered into one message */
	c->engine_try = 0;
	c->engine_rest = 0;
	for (i = 0; i < READS_PER_STEP; i++) {
		long k;
		if (c->state != ST_WS || !c->stream)
			break;
		if (over_pending(g, c)) {
			drop_slow(g, c);
			return;
		}
		if (c->tty && READ_CHUNK - have < BULK_BYTES) {
			i = READS_PER_STEP; /* a full message: more may wait */
			break;
		}
		k = c->tty ? dp_stream_read(c->stream, g->scratch + 1 + have, READ_CHUNK - have)
			   : dp_stream_read(c->stream, g->raw, READ_CHUNK);
		if (k == DP_AGAIN)
			break;
		if (k == 0 || k == DP_FAIL) {
			if (have)
				engine_output(g, c, DP_CH_STDOUT, g->scratch + 1, have);
			end_session(g, c, k == 0 ? "engine" : "error", k == 0 ? NULL : dp_stream_error(c->stream));
			release_stream(g, c);
			return;
		}
		c->last_data = now_ms();
		got += (size_t)k;
		if (c->tty) {
			have += (size_t)k;
		} else {
			const char *bad = NULL;
			size_t bad_len = 0;
			int r = queue_demuxed(g, c, (size_t)k, &bad, &bad_len);
			if (r < 0) {
				char msg[160];
				if (r == -2)
					snprintf(msg, sizeof msg, "the engine's stream is corrupt");
				else
					snprintf(msg, sizeof msg, "the engine: %.*s", (int)(bad_len > 120 ? 120 : bad_len), bad);
				end_session(g, c, "error", msg);
				release_stream(g, c);
				return;
			}
		}
	}
	if (have)
		engine_output(g, c, DP_CH_STDOUT, g->scratch + 1, have);
	if (c->state == ST_WS && wslay_event_want_write(c->ws))
		ws_send(g, c);
	if (i == READS_PER_STEP) {
		c->engine_try = 1; /* more may wait: the next turn reads on without waiting */
		c->bulk = 0;
	} else if (got >= BULK_BYTES && c->bulk) {
		/* output in bulk: what comes in the next millisecond is read at once and sent as
		 * one message, for a wake-up and two system calls rather than one per chunk */
		c->engine_rest = now_ms() + REST_MS;
	} else {
		c->bulk = got >= BULK_BYTES;
	}
}

/* The input the engine may take now: up to a resize's fence until Lua has had the resize. */
static size_t in_limit(const conn *c)
{
	return c->fenced ? c->fence_at : c->in_len;
}

static void engine_write(gateway *g, conn *c)
{
	size_t end = in_limit(c);
	(void)g;
	while (c->stream && c->in_pos < end && !c->input_gone) {
		long k = dp_stream_write(c->stream, c->in + c->in_pos, end - c->in_pos);
		if (k == DP_AGAIN) {
			c->engine_writable = 0;
			return;
		}
		if (k < 0) {
			c->input_gone = 1; /* the container takes no more input; its output still comes */
			break;
		}
		c->in_pos += (size_t)k;
	}
	if (c->fenced && !c->input_gone) {
		c->engine_writable = 1; /* the rest, and a half-close, once gw:run lifts the fence */
		return;
	}
	c->in_pos = c->in_len = c->fence_at = 0;
	if (c->w.hold) {
		c->w.hold = 0;
		c->client_try = 1; /* TLS may hold bytes no poll would tell of */
	}
	if (c->half_close == 1 && c->stream) {
		int r = dp_stream_close_write(c->stream);
		if (r == DP_AGAIN) {
			c->engine_writable = 0;
			return;
		}
		c->half_close = 2;
	}
	c->engine_writable = 1;
}

/* A session's close for a client that broke the protocol; the reader notes protocol errors
 * wslay itself found, so that its close carries 1002 and not an empty frame. */
static void protocol_close(gateway *g, conn *c, int code, const char *why)
{
	char msg[160];
	snprintf(msg, sizeof msg, "the client sent %s", why);
	end_session(g, c, "error", msg);
	start_close(g, c, code, why);
}

static void ws_step(gateway *g, conn *c, uint32_t revents)
{
	char msg[160];
	if ((revents & (EPOLLHUP | EPOLLERR)) || (c->w.hold && (revents & EPOLLRDHUP))) {
		/* a reset, or an end while its input is held: nothing more will be read */
		end_session(g, c, "client", "the client went away");
		kill_conn(g, c);
		return;
	}
	if (c->stream && dp_stream_fd(c->stream) != c->we.fd) {
		end_session(g, c, "error", "the engine stream was closed by its owner");
		release_stream(g, c);
	}
	if (c->out_pos < c->out_len) {
		long k;
		while (c->out_pos < c->out_len && (k = dp_io_write(&c->w.io, c->out + c->out_pos,
								  c->out_len - c->out_pos)) > 0)
			c->out_pos += (size_t)k;
		if (c->out_pos < c->out_len) {
			if (k == DP_IO_AGAIN)
				return;
			end_session(g, c, "client", "the client went away");
			kill_conn(g, c);
			return;
		}
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_pos = 0;
	}
	if (c->state == ST_WS && c->stream)
		engine_read(g, c);
	if (c->state == ST_DEAD)
		return;
	if (wslay_event_want_read(c->ws) && !c->w.hold && (!(revents & EV_ENGINE) || c->client_try)) {
		/* (a step for the engine alone leaves the client's socket to its own event) */
		int r;
		c->client_try = 0;
		c->w.budgeted = 1;
		c->w.budget = CLIENT_BUDGET;
		c->w.spent = 0;
		r = wslay_event_recv(c->ws);
		c->w.budgeted = 0;
		if (c->w.spent)
			c->client_try = 1; /* more may wait: the next turn, after the others */
		if (r == WSLAY_ERR_CALLBACK_FAILURE && !c->w.eof && !c->w.failed) {
			/* a frame wslay cannot parse: it queued an empty close and stopped reading */
			c->w.close_code = WSLAY_CODE_PROTOCOL_ERROR;
			if (c->state == ST_WS)
				protocol_close(g, c, WSLAY_CODE_PROTOCOL_ERROR, "a broken WebSocket frame");
		}
		if (c->ws && over_pending(g, c) && (c->stream || over_pending_after_end(g, c)))
			drop_slow(g, c);
	}
	if (c->drop_pending) {
		static const char notice[] = "dockerpty: input ignored: this token is read-only\r\n";
		c->drop_pending = 0;
		c->told_dropped = 1;
		if (c->state == ST_WS)
			queue_output(g, c, DP_CH_STDERR, notice, sizeof notice - 1);
		event_begin(g, "input_dropped", "session", c->id);
		event_end(g);
	}
	if (c->resize_pending) {
		c->resize_pending = 0;
		event_begin(g, "resize", "session", c->id);
		lua_pushinteger(g->L, c->width);
		lua_setfield(g->L, -2, "width");
		lua_pushinteger(g->L, c->height);
		lua_setfield(g->L, -2, "height");
		event_end(g);
	}
	if (c->w.eof || c->w.failed) {
		end_session(g, c, c->w.failed ? "error" : "client",
			    c->w.failed ? dp_io_error(&c->w.io) : "the client went away");
		kill_conn(g, c);
		return;
	}
	if (c->state == ST_WS) {
		if (c->client_closed) {
			snprintf(msg, sizeof msg, "the client closed the connection (%d)", c->width);
			end_session(g, c, "client", msg);
			start_close(g, c, 1000, "");
		} else if (c->too_big) {
			snprintf(msg, sizeof msg, "the client sent a message larger than %zu bytes", g->max_message);
			end_session(g, c, "error", msg);
			release_stream(g, c);
			if (!wslay_event_get_close_sent(c->ws))
				wslay_event_queue_close(c->ws, WSLAY_CODE_MESSAGE_TOO_BIG, NULL, 0);
			wslay_event_shutdown_read(c->ws);
			c->state = ST_CLOSING;
			c->deadline = now_ms() + g->close_timeout;
		} else if (c->bad) {
			protocol_close(g, c, WSLAY_CODE_POLICY_VIOLATION, c->bad);
		} else if (!wslay_event_get_read_enabled(c->ws)) {
			/* wslay refused the frames and queued its close: 1009 for a message too large
			 * (it checks before any callback), 1002 for a broken frame */
			snprintf(msg, sizeof msg, "the client sent a message larger than %zu bytes, or broke "
				 "the WebSocket protocol", g->max_message);
			end_session(g, c, "error", msg);
			start_close(g, c, 1002, "");
		}
	}
	if (c->stream && (c->in_pos < c->in_len || c->half_close == 1))
		engine_write(g, c);
	if (wslay_event_want_write(c->ws) && ws_send(g, c) != 0 && c->w.failed) {
		end_session(g, c, "error", dp_io_error(&c->w.io));
		kill_conn(g, c);
		return;
	}
	if (c->state == ST_CLOSING && wslay_event_get_close_sent(c->ws) &&
	    (wslay_event_get_close_received(c->ws) || !wslay_event_get_read_enabled(c->ws))) {
		/* the write side ends first and what still comes is read and dropped: a close
		 * with unread bytes would be a reset, which can cost the client our close frame */
		dp_io_shutdown(&c->w.io);
		c->state = ST_LINGER;
		c->deadline = now_ms() + LINGER_MS;
		c->client_try = 1;
	}
}

static void update_watches(gateway *g, conn *c)
{
	int rd = 0, wr = 0;
	uint32_t held = 0;
	switch (c->state) {
	case ST_TLS:
		watch_set(g, &c->wc, c->w.io.read_wants_write ? EPOLLOUT : EPOLLIN);
		return;
	case ST_HEAD:
	case ST_LINGER:
		rd = 1;
		break;
	case ST_LUA: /* its end is told by EPOLLHUP; a half-close still gets its answer */
		watch_set(g, &c->wc, c->rdhup ? 0 : EPOLLRDHUP);
		return;
	case ST_RESPOND:
		wr = 1;
		break;
	case ST_WS:
	case ST_CLOSING:
		rd = wslay_event_want_read(c->ws) && !c->w.hold;
		wr = c->out_pos < c->out_len || wslay_event_want_write(c->ws);
		if (c->w.hold)
			held = EPOLLRDHUP; /* input held for the engine: the client's end is still heard */
		break;
	case ST_DEAD:
		return;
	default:
		break;
	}
	watch_set(g, &c->wc, io_mask(&c->w.io, rd, wr) | held);
	if (c->stream && dp_stream_fd(c->stream) == c->we.fd) {
		uint32_t m = 0;
		if (c->state == ST_WS && !c->engine_rest)
			m |= EPOLLIN;
		if (c->in_pos < in_limit(c) || (c->half_close == 1 && !c->fenced))
			m |= EPOLLOUT;
		watch_set(g, &c->we, m);
	}
}

static void conn_step(gateway *g, conn *c, uint32_t revents)
{
	switch (c->state) {
	case ST_LUA: /* the client's reset, or its socket's failure, while Lua decides */
		if (revents & (EPOLLHUP | EPOLLERR)) {
			kill_conn(g, c);
			return;
		}
		if (revents & EPOLLRDHUP)
			c->rdhup = 1; /* a half-close: it may still read the answer */
		break;
	case ST_TLS: {
		int r = dp_io_handshake(&c->w.io);
		if (r == DP_IO_FAIL) {
			kill_conn(g, c);
			return;
		}
		if (r != 1)
			break;
		c->state = ST_HEAD;
	}
		/* fall through */
	case ST_HEAD:
		read_head(g, c);
		break;
	case ST_RESPOND: {
		long k = 0;
		while (c->out_pos < c->out_len &&
		       (k = dp_io_write(&c->w.io, c->out + c->out_pos, c->out_len - c->out_pos)) > 0)
			c->out_pos += (size_t)k;
		if (c->out_pos < c->out_len) {
			if (k != DP_IO_AGAIN)
				kill_conn(g, c);
			break;
		}
		dp_io_shutdown(&c->w.io);
		c->state = ST_LINGER;
		c->deadline = now_ms() + LINGER_MS;
	}
		/* fall through */
	case ST_LINGER: {
		char drop[4096];
		long k = 0;
		size_t got = 0;
		c->client_try = 0;
		while (got < CLIENT_BUDGET && (k = dp_io_read(&c->w.io, drop, sizeof drop)) > 0)
			got += (size_t)k;
		if (got >= CLIENT_BUDGET)
			c->client_try = 1; /* the rest next turn, after the others */
		else if (k != DP_IO_AGAIN)
			kill_conn(g, c);
		break;
	}
	case ST_WS:
	case ST_CLOSING:
		ws_step(g, c, revents);
		break;
	default:
		break;
	}
	update_watches(g, c);
}

/* Deadlines and pings; the time until the next one (ms), or -1. */
static long timers(gateway *g, long now)
{
	long next = -1;
	size_t i;
	for (i = 0; i < g->n; i++) {
		conn *c = g->conns[i];
		long due = c->deadline;
		if (c->state == ST_DEAD)
			continue;
		if (due && now >= due) {
			c->deadline = 0;
			if (c->state == ST_HEAD) {
				char why[96];
				snprintf(why, sizeof why, "the request did not come within %ld s",
					 g->head_timeout / 1000);
				refuse(g, c, 408, why, "");
				conn_step(g, c, 0);
			} else {
				if (c->state == ST_CLOSING || c->state == ST_WS)
					end_session(g, c, "client", "the client did not answer the close");
				kill_conn(g, c);
			}
			continue;
		}
		if (c->engine_rest) {
			if (c->state != ST_WS || !c->stream || now >= c->engine_rest) {
				c->engine_rest = 0;
				c->engine_try = c->stream != NULL; /* what came meanwhile, and the watch again */
			} else if (next < 0 || c->engine_rest - now < next) {
				next = c->engine_rest - now;
			}
		}
		if (c->state == ST_WS && c->stream && g->idle_timeout > 0) {
			if (now - c->last_data >= g->idle_timeout) {
				char why[96];
				snprintf(why, sizeof why, "no data either way for %ld s", g->idle_timeout / 1000);
				release_stream(g, c);
				end_session(g, c, "idle", why);
				continue;
			}
			if (!due || c->last_data + g->idle_timeout < due)
				due = c->last_data + g->idle_timeout;
		}
		if (c->state == ST_WS && g->ping_interval > 0) {
			if (c->w.hold)
				c->ping_sent = 0; /* its answer waits behind input the engine has not taken */
			if (c->ping_sent && now - c->ping_sent >= g->ping_timeout) {
				end_session(g, c, "ping", "the client did not answer a ping");
				start_close(g, c, 1008, "no answer to pings");
				conn_step(g, c, 0);
				continue;
			}
			if (!c->ping_sent && now - c->last_ping >= g->ping_interval) {
				struct wslay_event_msg m = {WSLAY_PING, NULL, 0};
				wslay_event_queue_msg(c->ws, &m);
				c->ping_sent = c->last_ping = now;
				conn_step(g, c, 0);
			}
			{
				long ping_due = c->ping_sent ? c->ping_sent + g->ping_timeout
							     : c->last_ping + g->ping_interval;
				if (!due || ping_due < due)
					due = ping_due;
			}
		}
		if (due && (next < 0 || due - now < next))
			next = due - now < 0 ? 0 : due - now;
	}
	return next;
}

/* The length of a peer's address without its port: "127.0.0.1" of "127.0.0.1:5000". */
static size_t peer_host_len(const char *peer)
{
	const char *colon = strrchr(peer, ':');
	return colon ? (size_t)(colon - peer) : strlen(peer);
}

/*
 * Room for one more connection whose head has not come: at most max_heads_per_peer from one
 * address (0 when that one is full: it is refused), at most max_heads in all (the oldest
 * waiting one gives way), so that connections that never finish cannot take every slot.
 */
static int head_room(gateway *g, const char *peer)
{
	size_t i, heads = 0, same = 0, hl = peer_host_len(peer);
	conn *oldest = NULL;
	for (i = 0; i < g->n; i++) {
		conn *c = g->conns[i];
		if (c->state != ST_TLS && c->state != ST_HEAD)
			continue;
		heads++;
		if (peer_host_len(c->peer) == hl && memcmp(c->peer, peer, hl) == 0)
			same++;
		if (!oldest || c->id < oldest->id)
			oldest = c;
	}
	if (same >= g->max_heads_per_peer)
		return 0;
	if (heads >= g->max_heads && oldest)
		kill_conn(g, oldest); /* Lua never heard of it */
	return 1;
}

static void accept_all(gateway *g)
{
	int i;
	SSL_CTX *tls = dp_listener_tls(g->listener);
	for (i = 0; i < ACCEPTS_PER_STEP && g->n < g->max_connections; i++) {
		char peer[DP_PEER_MAX];
		int fd = dp_listener_accept(g->listener, peer);
		conn *c;
		SSL *ssl = NULL;
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				g->accept_pause = now_ms() + ACCEPT_PAUSE_MS; /* else it would wake at once */
			return;
		}
		if (!head_room(g, peer)) {
			close(fd);
			continue;
		}
		if (g->n == g->cap) {
			size_t cap = g->cap ? 2 * g->cap : 64;
			conn **grown = realloc(g->conns, cap * sizeof(conn *));
			if (!grown) {
				close(fd);
				return;
			}
			g->conns = grown;
			g->cap = cap;
		}
		c = calloc(1, sizeof *c);
		if (tls && c)
			ssl = SSL_new(tls);
		if (!c || (tls && !ssl)) {
			free(c);
			close(fd);
			return;
		}
		if (ssl) {
			SSL_set_fd(ssl, fd);
			SSL_set_accept_state(ssl);
			SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		}
		c->id = ++g->next_id;
		c->g = g;
		dp_io_init(&c->w.io, fd, ssl);
		c->tls = ssl != NULL;
		c->state = ssl ? ST_TLS : ST_HEAD;
		c->wc.c = c;
		c->wc.fd = fd;
		c->we.c = c;
		c->we.fd = -1;
		c->rec_fd = -1;
		memcpy(c->peer, peer, sizeof peer);
		c->deadline = now_ms() + g->head_timeout;
		g->conns[g->n++] = c;
		watch_set(g, &c->wc, EPOLLIN);
	}
}

/* ---- Lua ---- */

static gateway *check_gw(lua_State *L)
{
	gateway *g = luaL_checkudata(L, 1, GATEWAY);
	if (g->ep < 0)
		luaL_error(L, "gateway is closed");
	g->L = L;
	return g;
}

static conn *find(gateway *g, lua_Integer id)
{
	size_t i;
	for (i = 0; i < g->n; i++)
		if (g->conns[i]->id == id && g->conns[i]->state != ST_DEAD)
			return g->conns[i];
	return NULL;
}

static long opt_ms(lua_State *L, int idx, const char *name, double dflt)
{
	double v;
	lua_getfield(L, idx, name);
	v = lua_isnil(L, -1) ? dflt : luaL_checknumber(L, -1);
	lua_pop(L, 1);
	if (!(v >= 0 && v <= 86400))
		luaL_error(L, "gateway: %s out of range", name);
	return (long)(v * 1000);
}

static size_t opt_size(lua_State *L, int idx, const char *name, lua_Integer dflt, lua_Integer lo,
		       lua_Integer hi)
{
	lua_Integer v;
	lua_getfield(L, idx, name);
	v = lua_isnil(L, -1) ? dflt : luaL_checkinteger(L, -1);
	lua_pop(L, 1);
	if (v < lo || v > hi)
		luaL_error(L, "gateway: %s out of range", name);
	return (size_t)v;
}

static void gw_release(lua_State *L, gateway *g)
{
	size_t i;
	g->L = L;
	if (g->ep >= 0) {
		for (i = 0; i < g->n; i++) {
			g->conns[i]->reported = 0; /* no events from here on */
			g->conns[i]->ended = 1;
			kill_conn(g, g->conns[i]);
		}
		sweep(g);
		extra_drop(g);
		close(g->ep);
		g->ep = -1;
	}
	free(g->conns);
	g->conns = NULL;
	g->n = g->cap = 0;
	free(g->raw);
	free(g->scratch);
	free(g->cast);
	g->raw = g->scratch = g->cast = NULL;
	luaL_unref(L, LUA_REGISTRYINDEX, g->listener_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, g->events_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, g->streams_ref);
	g->listener_ref = g->events_ref = g->streams_ref = LUA_NOREF;
}

static int l_gateway(lua_State *L)
{
	dp_listener *l = dp_check_listener(L, 1);
	gateway *g;
	lua_settop(L, 2);
	if (lua_isnil(L, 2)) {
		lua_newtable(L);
		lua_replace(L, 2);
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	g = lua_newuserdatauv(L, sizeof *g, 0);
	memset(g, 0, sizeof *g);
	g->ep = -1; /* closed until whole */
	g->listener_ref = g->events_ref = g->streams_ref = LUA_NOREF;
	g->signals_seen = dp_interrupt_count();
	luaL_setmetatable(L, GATEWAY);
	g->max_head = opt_size(L, 2, "max_head", 16384, 256, 1 << 20);
	g->max_body = opt_size(L, 2, "max_body", 4096, 0, 1 << 20);
	g->max_pending = opt_size(L, 2, "max_pending", 1 << 20, 1024, (lua_Integer)1 << 30);
	g->max_message = opt_size(L, 2, "max_message", 1 << 20, 16, 1 << 26);
	g->max_connections = opt_size(L, 2, "max_connections", 10000, 1, 1 << 20);
	g->max_heads = opt_size(L, 2, "max_heads", 1024, 1, 1 << 20);
	g->max_heads_per_peer = opt_size(L, 2, "max_heads_per_peer", 256, 1, 1 << 20);
	g->head_timeout = opt_ms(L, 2, "head_timeout", 10);
	g->ping_interval = opt_ms(L, 2, "ping_interval", 30);
	g->ping_timeout = opt_ms(L, 2, "ping_timeout", 60);
	{ /* a session holds two descriptors: never more connections than the process may open */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
			size_t fit = rl.rlim_cur > (rlim_t)2 * FDS_RESERVED ? (size_t)(rl.rlim_cur - FDS_RESERVED) / 2 : 32;
			if (g->max_connections > fit)
				g->max_connections = fit;
		}
	}
	g->close_timeout = opt_ms(L, 2, "close_timeout", 5);
	lua_getfield(L, 2, "idle_timeout");
	{
		double v = lua_isnil(L, -1) ? 0 : luaL_checknumber(L, -1);
		if (!(v >= 0 && v <= 365.0 * 86400))
			return luaL_error(L, "gateway: idle_timeout out of range");
		g->idle_timeout = (long)(v * 1000);
	}
	lua_pop(L, 1);
	g->raw = malloc(READ_CHUNK + 1);
	g->scratch = malloc(READ_CHUNK + 1);
	if (!g->raw || !g->scratch)
		return luaL_error(L, "out of memory");
	lua_pushvalue(L, 1);
	g->listener_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	g->events_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	g->streams_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	g->ep = epoll_create1(EPOLL_CLOEXEC);
	if (g->ep < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "gateway: cannot create an epoll set: %s", strerror(errno));
		return 2;
	}
	g->listener = l;
	g->wl.c = NULL;
	g->wl.fd = dp_listener_fd(l);
	watch_set(g, &g->wl, EPOLLIN);
	return 1;
}

/* Lua's own descriptors, {fd, ...} at idx, watched for readability during one run: each
 * that is becomes a {kind = "ready", fd = n} event. Checked whole before any is added. */
static void extra_add(lua_State *L, gateway *g, int idx)
{
	size_t n, i;
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	n = lua_rawlen(L, idx);
	luaL_argcheck(L, n <= EXTRA_MAX, idx, "too many descriptors");
	for (i = 1; i <= n; i++) {
		int isnum;
		lua_Integer fd;
		lua_rawgeti(L, idx, (lua_Integer)i);
		fd = lua_tointegerx(L, -1, &isnum);
		lua_pop(L, 1);
		luaL_argcheck(L, isnum && fd >= 0 && fd <= INT_MAX, idx, "descriptors must be whole numbers, 0 or more");
	}
	if (n == 0)
		return;
	g->extra = calloc(n, sizeof *g->extra);
	if (!g->extra) {
		luaL_error(L, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		watch *w = &g->extra[i];
		lua_rawgeti(L, idx, (lua_Integer)i + 1);
		w->fd = (int)lua_tointeger(L, -1);
		lua_pop(L, 1);
		w->extra = 1;
		watch_set(g, w, EPOLLIN | EPOLLRDHUP); /* a descriptor given twice is watched once */
	}
	g->n_extra = n;
}

static void extra_ready(gateway *g, const watch *w)
{
	event_begin(g, "ready", "fd", w->fd);
	event_end(g);
}

static int m_run(lua_State *L)
{
	gateway *g = check_gw(L);
	double t = luaL_optnumber(L, 2, -1);
	long deadline = t < 0 ? -1 : now_ms() + (long)(t * 1000);
	int interrupted = 0;
	dp_interruptible ig;
	struct epoll_event evs[EVENTS_MAX];

	luaL_argcheck(L, t < 1e7, 2, "out of range");
	extra_drop(g);
	extra_add(L, g, 3);
	dp_interruptible_begin(&ig);
	ig.seen = g->signals_seen; /* one that came since the last run counts */
	for (size_t j = 0; j < g->n; j++) { /* Lua has had the resizes the last run told of */
		conn *c = g->conns[j];
		if (c->fenced && !c->fence_held) {
			c->fenced = 0;
			c->engine_try = c->stream != NULL;
		}
	}
	for (;;) {
		long now = now_ms(), next = timers(g, now), wait;
		size_t i;
		int n, k, busy = 0;
		if (dp_interrupted(&ig)) {
			interrupted = 1;
			break;
		}
		sweep(g);
		if (events_waiting(g))
			break;
		for (i = 0; i < g->n; i++) {
			conn *c = g->conns[i];
			if (c->stream && dp_stream_fd(c->stream) != c->we.fd)
				c->engine_try = 1; /* closed by Lua: the session learns it at its step */
			busy |= c->state != ST_DEAD && (c->engine_try || c->client_try);
		}
		if (g->accept_pause && now >= g->accept_pause)
			g->accept_pause = 0;
		if (g->accept_pause && (next < 0 || g->accept_pause - now < next))
			next = g->accept_pause - now;
		wait = deadline < 0 ? -1 : deadline - now;
		if (deadline >= 0 && wait < 0)
			wait = 0;
		if (next >= 0 && (wait < 0 || next < wait))
			wait = next;
		if (busy)
			wait = 0;
		if (g->listener_ref != LUA_NOREF && dp_listener_fd(g->listener) < 0)
			g->wl.fd = -1; /* closed by its owner: the kernel has dropped it from the set */
		else if (g->wl.fd >= 0)
			watch_set(g, &g->wl, g->n < g->max_connections && !g->accept_pause ? EPOLLIN : 0);
		n = epoll_wait(g->ep, evs, EVENTS_MAX, wait > INT_MAX ? INT_MAX : (int)wait);
		if (dp_interrupted(&ig)) {
			interrupted = 1;
			break;
		}
		if (n < 0 && errno != EINTR) {
			int e = errno;
			g->signals_seen = dp_interrupt_count();
			dp_interruptible_end(&ig);
			extra_drop(g);
			return luaL_error(L, "gateway: epoll_wait: %s", strerror(e));
		}
		for (k = 0; k < n; k++) {
			watch *w = evs[k].data.ptr;
			if (w->extra)
				extra_ready(g, w);
			else if (!w->c)
				accept_all(g);
			else if (w->c->state != ST_DEAD) /* the engine's hangups are read as its end */
				conn_step(g, w->c, w == &w->c->wc ? evs[k].events : EV_ENGINE);
		}
		for (i = 0; i < g->n; i++) {
			conn *c = g->conns[i];
			if (c->state != ST_DEAD && (c->engine_try || c->client_try))
				conn_step(g, c, 0);
		}
		sweep(g);
		if (events_waiting(g) || (deadline >= 0 && now_ms() >= deadline))
			break;
	}
	g->signals_seen = dp_interrupt_count(); /* read once: one that came meanwhile is told now */
	if (g->signals_seen != ig.seen)
		interrupted = 1;
	dp_interruptible_end(&ig);
	extra_drop(g);
	lua_rawgeti(L, LUA_REGISTRYINDEX, g->events_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, g->events_ref);
	lua_newtable(L);
	g->events_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushboolean(L, interrupted);
	return 2;
}

/* The connection Lua names, waiting for its answer; NULL (nil, message pushed) when gone. */
static conn *waiting(lua_State *L, gateway *g, lua_Integer id)
{
	conn *c = find(g, id);
	if (!c) {
		lua_pushnil(L);
		lua_pushfstring(L, "connection %d is closed", (int)id);
		return NULL;
	}
	if (c->state != ST_LUA)
		luaL_error(L, "connection %d has been answered already", (int)id);
	return c;
}

/* "Name: value\r\n" for each pair of the table at idx, pushed as one string. Names are
 * tokens, values have no control byte; those the gateway writes itself are refused. */
static void header_lines(lua_State *L, int idx)
{
	int n = 0;
	if (lua_isnoneornil(L, idx)) {
		lua_pushliteral(L, "");
		return;
	}
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		size_t nlen, vlen, i;
		const char *name, *value;
		if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "gateway: headers must map names to strings");
		name = lua_tolstring(L, -2, &nlen);
		value = lua_tolstring(L, -1, &vlen);
		for (i = 0; i < nlen; i++)
			if (!dp_http_tchar((unsigned char)name[i]))
				break;
		if (nlen == 0 || i < nlen)
			luaL_error(L, "gateway: header name \"%s\" is not an HTTP token", name);
		for (i = 0; i < vlen; i++)
			if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
				luaL_error(L, "gateway: the value of header %s has a control byte", name);
		if (strcasecmp(name, "content-length") == 0 || strcasecmp(name, "connection") == 0 ||
		    strcasecmp(name, "transfer-encoding") == 0 || strcasecmp(name, "upgrade") == 0 ||
		    strncasecmp(name, "sec-websocket-", 14) == 0)
			luaL_error(L, "gateway: header %s is the gateway's to write", name);
		luaL_checkstack(L, 3, "too many headers");
		lua_pushfstring(L, "%s: %s\r\n", name, value);
		lua_insert(L, -3);
		lua_pop(L, 1);
		n++;
	}
	lua_concat(L, n);
}

static char *copy_out(lua_State *L, size_t *len)
{
	const char *s = lua_tolstring(L, -1, len);
	char *out = s ? malloc(*len ? *len : 1) : NULL;
	if (!out) {
		luaL_error(L, "out of memory");
		return NULL;
	}
	memcpy(out, s, *len);
	lua_pop(L, 1);
	return out;
}

static int m_respond(lua_State *L)
{
	gateway *g = check_gw(L);
	lua_Integer id = luaL_checkinteger(L, 2);
	int status = dp_check_int(L, 3, 200, 599);
	size_t blen = 0, len;
	char *out;
	conn *c;
	luaL_optlstring(L, 5, "", &blen);
	lua_settop(L, 5);
	header_lines(L, 4);
	if (!(c = waiting(L, g, id)))
		return 2;
	lua_pushfstring(L, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
	lua_insert(L, -2);
	lua_pushfstring(L, "Content-Length: %d\r\nConnection: close\r\n\r\n", (int)blen);
	lua_pushvalue(L, 5);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushliteral(L, "");
	}
	lua_concat(L, 4);
	luaL_argcheck(L, blen <= (size_t)1 << 26, 5, "larger than 64 MiB");
	out = copy_out(L, &len);
	answer(g, c, out, len);
	conn_step(g, c, 0);
	lua_pushboolean(L, 1);
	return 1;
}

/* Whether the client offered protocol among its Sec-WebSocket-Protocol list. */
static int offered(const head_state *h, const dp_ws_upgrade *u, const char *protocol)
{
	size_t i, n = strlen(protocol);
	for (i = 0; i < u->nprotocols; i++)
		if (u->protocols[i].len == n && memcmp(h->buf + u->protocols[i].off, protocol, n) == 0)
			return 1;
	return 0;
}

static int m_upgrade(lua_State *L)
{
	static const struct wslay_event_callbacks cbs = {
		dp_ws_recv, dp_ws_send, NULL, on_frame_start, NULL, NULL, on_message,
	};
	gateway *g = check_gw(L);
	lua_Integer id = luaL_checkinteger(L, 2);
	const char *protocol;
	dp_ws_upgrade u;
	dp_stream *s;
	conn *c;
	size_t i, len;
	head_state *h;

	luaL_checktype(L, 3, LUA_TTABLE);
	lua_settop(L, 3);
	extra_drop(g); /* a run that raised left them: the stream's descriptor may be one's number */
	lua_getfield(L, 3, "stream"); /* 4 */
	s = dp_check_stream(L, 4);
	luaL_argcheck(L, !dp_stream_head_pending(s), 3, "the stream's answer head is still to come");
	for (i = 0; i < g->n; i++)
		if (g->conns[i]->stream == s)
			luaL_argerror(L, 3, "the stream belongs to another session");
	lua_getfield(L, 3, "protocol"); /* 5 */
	protocol = lua_isnil(L, 5) ? NULL : luaL_checkstring(L, 5);
	lua_getfield(L, 3, "headers"); /* 6 */
	header_lines(L, 6); /* 7 */
	if (!(c = waiting(L, g, id)))
		return 2;
	h = c->head;
	if (dp_ws_server_check(&h->r, h->buf, &u) != 0) {
		refuse(g, c, u.status, u.reason, u.status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
		c->answered = 1;
		conn_step(g, c, 0);
		lua_pushnil(L);
		lua_pushstring(L, u.reason);
		return 2;
	}
	if (protocol && !offered(h, &u, protocol))
		return luaL_argerror(L, 3, "the client did not offer that subprotocol");
	lua_getfield(L, 3, "record");
	if (!lua_isnil(L, -1)) { /* a file Lua made, its header in: the connection owns it now */
		const char *path = luaL_checkstring(L, -1);
		int fd;
		if (!g->cast && !(g->cast = malloc(DP_CAST_MAX(READ_CHUNK))))
			return luaL_error(L, "out of memory");
		fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			lua_pushnil(L);
			lua_pushfstring(L, "cannot record to %s: %s", path, strerror(errno));
			return 2;
		}
		rec_close(c);
		c->rec_fd = fd;
		c->rec_carry_len = 0;
		clock_gettime(CLOCK_MONOTONIC, &c->rec_start);
	}
	lua_pop(L, 1);
	lua_pushfstring(L, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			"Sec-WebSocket-Accept: %s\r\n%s%s%s",
			u.accept, protocol ? "Sec-WebSocket-Protocol: " : "", protocol ? protocol : "",
			protocol ? "\r\n" : "");
	lua_insert(L, -2);
	lua_pushliteral(L, "\r\n");
	lua_concat(L, 3);
	{ /* everything that can fail first, so that a failure leaves the connection as it was */
		char *pre = NULL, *out;
		size_t start = h->need ? h->need : h->r.length; /* past the head, and a body Lua had */
		size_t pre_len = h->len > start ? h->len - start : 0; /* frames that came with them */
		wslay_event_context_ptr ws = NULL;
		const char *s101 = lua_tolstring(L, -1, &len);
		out = malloc(len);
		if (pre_len)
			pre = malloc(pre_len);
		if (!out || (pre_len && !pre) || wslay_event_context_server_init(&ws, &cbs, &c->w) != 0) {
			free(out);
			free(pre);
			return luaL_error(L, "out of memory");
		}
		memcpy(out, s101, len);
		lua_pop(L, 1);
		if (pre_len)
			memcpy(pre, h->buf + start, pre_len);
		c->ws = ws;
		g->sessions++;
		wslay_event_config_set_max_recv_msg_length(c->ws, g->max_message);
		c->out = out;
		c->out_len = len;
		c->out_pos = 0;
		c->w.pre = pre;
		c->w.pre_len = pre_len;
	}
	free(c->head);
	c->head = NULL;
	lua_getfield(L, 3, "tty");
	c->tty = lua_toboolean(L, -1);
	lua_getfield(L, 3, "read_only");
	c->read_only = lua_toboolean(L, -1);
	lua_pop(L, 2);
	dp_demux_init(&c->demux);
	lua_rawgeti(L, LUA_REGISTRYINDEX, g->streams_ref);
	lua_pushvalue(L, 4);
	lua_rawseti(L, -2, (int)c->id);
	lua_pop(L, 1);
	c->stream = s;
	c->we.fd = dp_stream_fd(s);
	c->state = ST_WS;
	c->answered = 1;
	c->deadline = 0;
	c->engine_try = c->client_try = 1; /* bytes that came with the answers are no poll's news */
	c->last_ping = c->last_data = now_ms();
	conn_step(g, c, 0);
	lua_pushinteger(L, c->id);
	return 1;
}

static int m_send_status(lua_State *L)
{
	gateway *g = check_gw(L);
	conn *c = find(g, luaL_checkinteger(L, 2));
	size_t n;
	const char *json = luaL_checklstring(L, 3, &n);
	luaL_argcheck(L, n <= READ_CHUNK, 3, "longer than 64 KiB");
	if (!c || c->state != ST_WS || queue_output(g, c, DP_CH_STATUS, json, n) != 0) {
		lua_pushboolean(L, 0);
		return 1;
	}
	conn_step(g, c, 0);
	lua_pushboolean(L, 1);
	return 1;
}

/* hold_input(session, on): while on, input typed after a resize waits, past the run after
 * the resize was told, until Lua has applied it (its engine call answered). */
static int m_hold_input(lua_State *L)
{
	gateway *g = check_gw(L);
	conn *c = find(g, luaL_checkinteger(L, 2));
	luaL_checktype(L, 3, LUA_TBOOLEAN);
	if (!c || c->state != ST_WS) {
		lua_pushboolean(L, 0);
		return 1;
	}
	c->fence_held = lua_toboolean(L, 3);
	if (!c->fence_held && c->fenced) {
		c->fenced = 0;
		c->engine_try = c->stream != NULL;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int m_close(lua_State *L)
{
	gateway *g = luaL_checkudata(L, 1, GATEWAY);
	conn *c;
	if (lua_isnoneornil(L, 2)) {
		gw_release(L, g);
		return 0;
	}
	g = check_gw(L);
	c = find(g, luaL_checkinteger(L, 2));
	if (!c || (c->state != ST_WS && c->state != ST_LUA)) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (c->state == ST_LUA) {
		c->answered = 1;
		kill_conn(g, c);
	} else {
		size_t rl = 0;
		int code = dp_opt_int(L, 3, 1000, 1000, 4999);
		const char *reason = luaL_optlstring(L, 4, "", &rl);
		/* what a peer may send (RFC 6455 7.4), by wslay's rule: 1000-1011 but 1004-1006, 3000-4999 */
		luaL_argcheck(L, (code <= 1011 && code != 1004 && code != 1005 && code != 1006) || code >= 3000,
			      3, "not a close code a peer may send");
		luaL_argcheck(L, rl <= 123, 4, "longer than 123 bytes");
		c->ended = 1;
		close_after_queue(g, c, code, reason);
		conn_step(g, c, 0);
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int m_gc(lua_State *L)
{
	gw_release(L, luaL_checkudata(L, 1, GATEWAY));
	return 0;
}

static int m_fileno(lua_State *L)
{
	lua_pushinteger(L, check_gw(L)->ep);
	return 1;
}

static int m_stats(lua_State *L)
{
	gateway *g = check_gw(L);
	sweep(g); /* what gw:close ended since the last turn is counted no more */
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, (lua_Integer)g->n);
	lua_setfield(L, -2, "connections");
	lua_pushinteger(L, (lua_Integer)g->max_connections);
	lua_setfield(L, -2, "max_connections");
	lua_pushinteger(L, (lua_Integer)g->sessions);
	lua_setfield(L, -2, "sessions");
	return 1;
}

static int m_tostring(lua_State *L)
{
	gateway *g = luaL_checkudata(L, 1, GATEWAY);
	lua_pushfstring(L, GATEWAY " (%d connections%s)", (int)g->n, g->ep < 0 ? ", closed" : "");
	return 1;
}

void dp_gateway_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"run", m_run},
		{"hold_input", m_hold_input},
		{"respond", m_respond},
		{"upgrade", m_upgrade},
		{"send_status", m_send_status},
		{"close", m_close},
		{"fileno", m_fileno},
		{"stats", m_stats},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__gc", m_gc},
		{"__close", m_gc},
		{"__tostring", m_tostring},
		{NULL, NULL},
	};
	dp_new_class(L, GATEWAY, meta, methods);
	lua_pushcfunction(L, l_gateway);
	lua_setfield(L, -2, "gateway");
}
