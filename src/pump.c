/*
 * The pump: one poll() loop that moves stdin to the stream (through the key matcher) and
 * the stream to stdout and stderr (through the demultiplexer), and reports what Lua must
 * act on: the end, a detach, a bound key, a signal. It never calls into Lua itself.
 */
/* for F_GETPIPE_SZ and F_SETPIPE_SZ, which are Linux's own */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dockerpty.h"
#include "proto.h"

#define PUMP "dockerpty.Pump"
#define RAW_MAX ((size_t)256 * 1024)
#define RAW_CAPTURE ((size_t)16 * 1024) /* a host loop's session: smaller, as there may be hundreds */
#define IN_MAX ((size_t)64 * 1024)
#define PIPE_CHUNK ((size_t)64 * 1024) /* a pipe's default capacity, and a file's write */
#define TTY_CHUNK 4096 /* a terminal takes small writes, so keys stay answered meanwhile */
#define SEGV_MAX 64    /* frames' payloads gathered into one write */
#define SYSERR_MAX 1024

/*
 * Output that streams in (reads of BULK_MIN bytes or more, BULK_STREAK times in a row) is
 * read after a hold of a few milliseconds: the stream fills meanwhile, so one read, one
 * write and one poll move a hundred kilobytes instead of the few the engine sends at a time,
 * and the pump wakes a few hundred times a second, not thousands. Within a streak, a read
 * that leaves room in the buffer took all there was, so a hold comes before the next read
 * too. Typed keys and signals still wake it at once; a read that finds less than BULK_MIN,
 * or nothing after a hold, ends the streak. A hold lasts as long as BULK_BYTES take to come
 * at the rate the last read saw, so the socket never fills and the sender never waits (a
 * sender faster than that gets no hold at all; the engine's socket holds 250 KB and more),
 * and BULK_WAIT_MS at most, a third of a frame at 60 Hz. (An A/B of 100 MB through a tty
 * against the engine: 5 ms and 160 KB took 9% less CPU than 3 ms and 128 KB, in the same
 * wall time.) A capture buffer is too small to hold for, and a host loop's step
 * (a run with timeout 0) never waits.
 */
#define BULK_MIN 1024
#define BULK_STREAK 2
#define BULK_WAIT_MS 5
#define BULK_BYTES (160LL * 1024)

enum { EV_NONE, EV_END, EV_DETACH, EV_KEY, EV_SIGNAL, EV_IDLE, EV_ERROR, EV_OUTPUT, EV_WATCH };

typedef struct {
	int open;
	int in_fd, out_fd[3], sig_fd; /* out_fd[DP_STDOUT], out_fd[DP_STDERR]; -1 for none */
	int watch_fd;                 /* Lua's own fd to report when readable, or -1 */
	int out_ready[3], out_always[3], out_pipe[3];
	size_t out_chunk[3];
	int tty;
	int capture; /* output goes to Lua as events, not to fds */
	dp_demux demux;
	dp_matcher keys;
	unsigned char detaches[DP_BINDINGS_MAX];
	int match;

	/* stream -> outputs: raw bytes, and the slices of them being written: the payloads of
	 * consecutive frames for one output, segv[segv_i..segv_n), seg_len bytes in all */
	char *raw; /* raw_cap bytes; buffers are the pump's own, freed by close and __gc */
	size_t raw_cap, raw_len, raw_pos;
	struct iovec segv[SEGV_MAX];
	int segv_i, segv_n;
	size_t seg_len;
	int seg_type;
	int stream_wait, stream_eof;
	int streak;  /* reads in a row of BULK_MIN bytes or more */
	int hold_ms; /* how long a hold lasts: the time BULK_BYTES take to come, BULK_WAIT_MS at most */
	struct timespec last_read;
	int holding; /* the stream is left to fill until hold_until */
	int held;    /* a hold is over and the read after it has not yet found anything */
	int may_hold; /* this run() may hold: it waits (a host loop's step, timeout 0, does not) */
	int short_wait; /* stream_wait comes from a short read, not from a read that found nothing */
	struct timespec hold_until;
	char syserr[SYSERR_MAX];
	size_t syserr_len;

	/* stdin -> stream: bytes read, and those past the matcher waiting to be sent */
	unsigned char *in; /* IN_MAX bytes, and send IN_MAX + DP_KEYS_MAX: only with a stdin */
	size_t in_len, in_pos;
	unsigned char *send;
	size_t send_len, send_pos;
	int send_wait, in_eof, write_closed;

	int ended; /* EV_END or EV_DETACH once over */
	char err[512];
} pump;

static int fail(pump *p, const char *what, const char *why)
{
	snprintf(p->err, sizeof p->err, "%s: %s", what, why);
	return EV_ERROR;
}

/*
 * The next slices of raw bytes to write out, skipping what has nowhere to go. Payloads of
 * frames that follow each other for the same output, out_chunk bytes in all, go out in one
 * write; the raw buffer is read into again only once they are all out.
 */
static int next_segment(pump *p)
{
	if (p->seg_len == 0)
		p->segv_i = p->segv_n = 0;
	while (p->raw_pos < p->raw_len) {
		dp_demux d = p->demux;
		const char *out;
		size_t out_len, used;
		int type = DP_STDOUT;
		if (p->tty) {
			out = p->raw + p->raw_pos;
			out_len = used = p->raw_len - p->raw_pos;
		} else {
			used = dp_demux_next(&d, p->raw + p->raw_pos, p->raw_len - p->raw_pos, &out,
					     &out_len, &type);
			if (used == (size_t)-1 && p->seg_len)
				break; /* what came before goes out first */
			if (used == (size_t)-1)
				return fail(p, "corrupt stream", "a frame header names no stream");
		}
		if (out_len && type == DP_STDERR && p->out_fd[type] < 0 && !p->capture)
			type = DP_STDOUT;
		if (out_len && p->seg_len &&
		    (p->capture || type != p->seg_type || p->segv_n == SEGV_MAX ||
		     p->seg_len + out_len > p->out_chunk[type]))
			break; /* not for the write being gathered */
		p->demux = d;
		p->raw_pos += used;
		if (out_len == 0)
			continue;
		if (type == DP_SYSERR) {
			size_t k = SYSERR_MAX - 1 - p->syserr_len;
			k = out_len < k ? out_len : k;
			memcpy(p->syserr + p->syserr_len, out, k);
			p->syserr_len += k;
		} else if ((type == DP_STDOUT || type == DP_STDERR) &&
			   (p->capture || p->out_fd[type] >= 0)) {
			p->segv[p->segv_n].iov_base = (void *)out;
			p->segv[p->segv_n++].iov_len = out_len;
			p->seg_len += out_len;
			p->seg_type = type;
			if (p->capture)
				return EV_OUTPUT; /* handed to Lua whole; nothing is kept here */
		}
	}
	return EV_NONE;
}

/*
 * Bytes a pipe of capacity cap surely takes without blocking. Poll's "writable" promises one
 * free page; how many more there are is not known, as a page may hold any number of unread
 * bytes, so all of them only when the pipe is empty.
 */
static size_t pipe_room(int fd, size_t cap)
{
	static size_t page;
	int unread;
	if (!page) {
		long ps = sysconf(_SC_PAGESIZE);
		page = ps > 0 ? (size_t)ps : 4096;
	}
	return ioctl(fd, FIONREAD, &unread) == 0 && unread == 0 ? cap : page;
}

/* Writes what it can of the slices gathered; returns what write() returned. */
static ssize_t write_segment(pump *p)
{
	struct iovec *v = p->segv + p->segv_i, cut[SEGV_MAX];
	int fd = p->out_fd[p->seg_type], n = p->segv_n - p->segv_i;
	size_t chunk = p->out_chunk[p->seg_type], want = p->seg_len, left;
	ssize_t k;

	/* While keys are read, a write to a pipe is no larger than the pipe's free room: a
	 * blocking write waits for a slow reader to take all of it, and no key is read meanwhile. */
	if (p->out_pipe[p->seg_type] && p->in_fd >= 0 && !p->in_eof)
		chunk = pipe_room(fd, chunk);
	if (want > chunk)
		want = chunk;
	if (n == 1) {
		k = write(fd, v->iov_base, want);
	} else if (want == p->seg_len) {
		k = writev(fd, v, n);
	} else {
		int m = 0;
		for (left = want; left; m++) {
			cut[m] = v[m];
			if (cut[m].iov_len > left)
				cut[m].iov_len = left;
			left -= cut[m].iov_len;
		}
		k = writev(fd, cut, m);
	}
	left = k > 0 ? (size_t)k : 0;

	p->seg_len -= left;
	while (left) {
		size_t step = left < v->iov_len ? left : v->iov_len;
		v->iov_base = (char *)v->iov_base + step;
		v->iov_len -= step;
		left -= step;
		if (v->iov_len == 0) {
			v++;
			p->segv_i++;
		}
	}
	/* A pipe or socket that took all it was given likely takes the next write too, when no
	 * input waits to be read meanwhile; otherwise poll says when it can take more, so keys
	 * stay answered while a slow reader holds the output back. */
	if (k > 0)
		p->out_ready[p->seg_type] =
		    p->out_always[p->seg_type] ||
		    ((size_t)k == want && p->out_chunk[p->seg_type] != TTY_CHUNK &&
		     (p->in_fd < 0 || p->in_eof));
	return k;
}

/* The hold that lets BULK_BYTES gather at the rate at which k bytes came since the last read. */
static void note_rate(pump *p, size_t k)
{
	struct timespec now;
	long long ns;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(now.tv_sec - p->last_read.tv_sec) * 1000000000LL +
	     (now.tv_nsec - p->last_read.tv_nsec);
	p->last_read = now;
	ns /= (long long)k; /* per byte; the time BULK_BYTES take is that times BULK_BYTES */
	p->hold_ms = ns > BULK_WAIT_MS * 1000000LL / BULK_BYTES ? BULK_WAIT_MS
								 : (int)(ns * BULK_BYTES / 1000000);
}

/* Whether the stream is streaming and the next read waits for a hold. */
static int holds(const pump *p)
{
	return p->may_hold && p->streak >= BULK_STREAK && p->hold_ms > 0 && p->raw_cap >= RAW_MAX;
}

/*
 * The container takes no more input: the engine, or the way to it, closed that side (a
 * write or the half-close failed). What is typed from now on is dropped, as after the end of
 * input, so the keys are still matched; the output still comes to its end, and its end, or
 * the stream's own error, is what the session reports.
 */
static void input_gone(pump *p)
{
	p->write_closed = 1;
	p->send_pos = p->send_len;
}

/* Moves every byte that can move without waiting. Returns an event, or EV_NONE. */
static int advance(pump *p, dp_stream *s)
{
	int moved;
	do {
		int ev;
		moved = 0;
		if ((ev = next_segment(p)) != EV_NONE)
			return ev;
		if (p->seg_len && p->out_ready[p->seg_type]) {
			ssize_t k = write_segment(p);
			if (k > 0 || (k < 0 && errno == EINTR)) {
				moved = 1; /* after EINTR too: out_ready stays, so no poll would wake */
			} else if (k < 0 && errno == EAGAIN) {
				p->out_ready[p->seg_type] = 0;
			} else if (k < 0) {
				return fail(p, p->seg_type == DP_STDERR ? "cannot write to stderr"
									: "cannot write to stdout",
					    strerror(errno));
			}
		}
		if (p->seg_len == 0 && p->raw_pos == p->raw_len && !p->stream_eof && !p->stream_wait) {
			long k = dp_stream_read(s, p->raw, p->raw_cap);
			if (k > 0) {
				p->raw_len = (size_t)k;
				p->raw_pos = 0;
				p->streak = k >= BULK_MIN ? p->streak + 1 : 0;
				p->held = 0;
				note_rate(p, (size_t)k);
				moved = 1;
				/* A streak's read that did not fill the buffer took all there was: the
				 * next read waits for a hold, which the next turn of run() starts. */
				p->short_wait = (size_t)k < p->raw_cap && holds(p);
				p->stream_wait = p->short_wait;
			} else if (k == 0) {
				p->stream_eof = 1;
			} else if (k == DP_AGAIN) {
				p->stream_wait = 1; /* TLS is drained too: poll can be trusted now */
				p->short_wait = 0;
				if (p->held)
					p->streak = 0; /* nothing came during a hold: the stream has gone quiet */
				p->held = 0;
			} else {
				return fail(p, "stream", dp_stream_error(s));
			}
		}
		if (p->send_pos == p->send_len && p->in_pos < p->in_len) {
			size_t out_len, used;
			int match;
			used = dp_matcher_feed(&p->keys, p->in + p->in_pos, p->in_len - p->in_pos, p->send,
					       &out_len, &match);
			p->in_pos += used;
			p->send_len = out_len;
			p->send_pos = p->write_closed ? out_len : 0;
			moved = 1;
			if (match >= 0) {
				p->match = match;
				return EV_KEY;
			}
		}
		if (p->send_pos < p->send_len && !p->send_wait && !p->write_closed) {
			long k = dp_stream_write(s, (const char *)p->send + p->send_pos,
						 p->send_len - p->send_pos);
			if (k > 0) {
				p->send_pos += (size_t)k;
				moved = 1;
			} else if (k == DP_AGAIN) {
				p->send_wait = 1;
			} else {
				input_gone(p);
				moved = 1;
			}
		}
		if (p->in_eof && !p->write_closed && !p->send_wait && p->in_pos == p->in_len &&
		    p->send_pos == p->send_len) {
			/* End of input: what the matcher held back goes out, then the half-close. */
			p->send_len = dp_matcher_flush(&p->keys, p->send);
			p->send_pos = 0;
			if (p->send_len == 0) {
				if (dp_stream_close_write(s) == DP_AGAIN)
					p->send_wait = 1; /* TLS's alert waits for room, as a write does */
				else
					p->write_closed = 1; /* or it failed: the input is over either way */
			}
			moved = 1;
		}
		if (p->stream_eof && p->seg_len == 0 && p->raw_pos == p->raw_len)
			return EV_END;
	} while (moved);
	return EV_NONE;
}

static void read_stdin(pump *p)
{
	ssize_t k = read(p->in_fd, p->in, IN_MAX);
	if (k > 0) {
		p->in_len = (size_t)k;
		p->in_pos = 0;
	} else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
		p->in_eof = 1; /* EIO from a terminal that went away ends input too */
	}
}

/* What was typed before a key goes before what the key does: a detach, or a handler's send.
 * A second at most per wait, should the container take no input. */
static void flush_typed(pump *p, dp_stream *s)
{
	while (p->send_pos < p->send_len) {
		long k = dp_stream_write(s, (const char *)p->send + p->send_pos, p->send_len - p->send_pos);
		if (k == DP_AGAIN && dp_wait_fd(dp_stream_fd(s), POLLOUT, 1000) > 0)
			continue;
		if (k <= 0)
			return;
		p->send_pos += (size_t)k;
	}
}

/* Milliseconds left of the stream's hold, starting one if none runs; 0 once it is over. */
static int hold_left(pump *p)
{
	struct timespec now;
	long ms;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!p->holding) {
		p->holding = 1;
		p->hold_until = now;
		p->hold_until.tv_nsec += p->hold_ms * 1000000L;
		if (p->hold_until.tv_nsec >= 1000000000L) {
			p->hold_until.tv_sec++;
			p->hold_until.tv_nsec -= 1000000000L;
		}
	}
	ms = (long)(p->hold_until.tv_sec - now.tv_sec) * 1000 +
	     (p->hold_until.tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (ms > 0)
		return (int)ms;
	p->holding = 0;
	return 0;
}

static int run(pump *p, dp_stream *s, int timeout_ms)
{
	p->may_hold = timeout_ms != 0;
	if (!p->may_hold && p->short_wait)
		p->stream_wait = p->short_wait = 0; /* only a read that finds nothing lets poll decide */
	for (;;) {
		struct pollfd fds[6];
		int nfds = 0, r, i_stream = -1, i_in = -1, i_out = -1, i_sig = -1, i_watch = -1;
		int wait_ms = timeout_ms, hold = 0;
		short ev = 0;
		int e = advance(p, s);

		if (e == EV_KEY) {
			flush_typed(p, s);
			if (p->detaches[p->match])
				return p->ended = EV_DETACH;
		}
		if (e == EV_END)
			return p->ended = EV_END;
		if (e != EV_NONE)
			return e;

		if (p->stream_wait && p->seg_len == 0 && p->raw_pos == p->raw_len && !p->stream_eof) {
			/* a host loop's step (timeout 0) never holds: its poll would spin meanwhile */
			if (holds(p) && (hold = hold_left(p)) == 0) {
				p->stream_wait = 0;
				p->held = 1;
				continue;
			}
			if (hold && (timeout_ms < 0 || hold <= timeout_ms))
				wait_ms = hold;
			else if (!hold)
				ev |= POLLIN;
		}
		if (p->send_wait)
			ev |= POLLOUT;
		if (ev) {
			i_stream = nfds;
			fds[nfds].fd = dp_stream_fd(s);
			fds[nfds++].events = ev;
		}
		if (p->in_fd >= 0 && !p->in_eof && p->in_pos == p->in_len && p->send_pos == p->send_len) {
			i_in = nfds;
			fds[nfds].fd = p->in_fd;
			fds[nfds++].events = POLLIN;
		}
		if (p->seg_len && !p->out_ready[p->seg_type]) {
			i_out = nfds;
			fds[nfds].fd = p->out_fd[p->seg_type];
			fds[nfds++].events = POLLOUT;
		}
		if (p->sig_fd >= 0) {
			i_sig = nfds;
			fds[nfds].fd = p->sig_fd;
			fds[nfds++].events = POLLIN;
		}
		if (p->watch_fd >= 0) {
			i_watch = nfds;
			fds[nfds].fd = p->watch_fd;
			fds[nfds++].events = POLLIN;
		}
		for (r = 0; r < nfds; r++)
			fds[r].revents = 0;
		r = poll(fds, (nfds_t)nfds, wait_ms);
		if (r < 0 && errno == EINTR)
			continue; /* a signal's byte is in the pipe: the next poll sees it */
		if (r < 0)
			return fail(p, "poll", strerror(errno));
		if (r == 0 && hold && wait_ms == hold)
			continue; /* the hold is over: the next turn reads */
		if (r == 0)
			return EV_IDLE;
		if (i_sig >= 0 && fds[i_sig].revents)
			return EV_SIGNAL;
		if (i_watch >= 0 && fds[i_watch].revents)
			return EV_WATCH;
		if (i_stream >= 0 && fds[i_stream].revents) {
			if (fds[i_stream].revents & (POLLIN | POLLHUP | POLLERR))
				p->stream_wait = 0;
			if (fds[i_stream].revents & (POLLOUT | POLLHUP | POLLERR))
				p->send_wait = 0;
		}
		if (i_out >= 0 && fds[i_out].revents)
			p->out_ready[p->seg_type] = 1;
		if (i_in >= 0 && fds[i_in].revents)
			read_stdin(p);
	}
}

static pump *check_pump(lua_State *L)
{
	return luaL_checkudata(L, 1, PUMP);
}

static dp_stream *pump_stream(lua_State *L, pump *p)
{
	dp_stream *s;
	if (!p->open)
		luaL_error(L, "pump is closed");
	dp_getuservalue(L, 1);
	lua_rawgeti(L, -1, 1);
	s = dp_check_stream(L, -1);
	lua_pop(L, 2);
	return s;
}

static int opt_fd(lua_State *L, const char *key)
{
	int fd;
	lua_getfield(L, 2, key);
	fd = lua_isnil(L, -1) ? -1 : dp_check_int(L, -1, 0, INT_MAX);
	lua_pop(L, 1);
	return fd;
}

/* A regular file or a device other than a terminal (/dev/null) never makes a writer wait,
 * so it needs no poll before each write. */
static int always_ready(int fd)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 &&
	       (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(fd)));
}

/*
 * How much one write to fd moves. A pipe smaller than a full read is grown to hold one
 * (never shrunk; where the system refuses, it keeps its size): with the default 64 KiB,
 * each read of a stream would fill it several times over, and each time the pump would
 * sleep until the reader drained it. A capture session keeps the default, as there may be
 * hundreds of them. *is_pipe says whether fd is a pipe.
 */
static size_t write_chunk(int fd, int grow, int *is_pipe)
{
	int size, grown;
	*is_pipe = 0;
	if (fd < 0)
		return PIPE_CHUNK;
	if (isatty(fd))
		return TTY_CHUNK;
	size = fcntl(fd, F_GETPIPE_SZ);
	if (size <= 0)
		return PIPE_CHUNK; /* not a pipe */
	*is_pipe = 1;
	if (grow && (size_t)size < RAW_MAX && (grown = fcntl(fd, F_SETPIPE_SZ, (int)RAW_MAX)) > 0)
		size = grown; /* the capacity the pipe now has */
	return (size_t)size;
}

/*
 * pump(stream, {stdin = fd, stdout = fd, stderr = fd, tty = bool, signals = bool,
 *               capture = bool, keys = {{bytes, detach = bool}, ...}, watch = fd}) -> pump
 * With capture, output comes back from run() as events instead of going to the fds. A watch
 * fd is one of Lua's own, reported by run() when it can be read (p:watch() changes it).
 */
static int l_pump(lua_State *L)
{
	pump *p;
	size_t i, nkeys;

	dp_check_stream(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	p = lua_newuserdatauv(L, sizeof *p, 1);
	memset(p, 0, sizeof *p);
	luaL_setmetatable(L, PUMP);
	lua_createtable(L, 1, 0);
	lua_pushvalue(L, 1);
	lua_rawseti(L, -2, 1);
	dp_setuservalue(L, -2);

	dp_demux_init(&p->demux);
	dp_matcher_init(&p->keys);
	p->in_fd = opt_fd(L, "stdin");
	p->watch_fd = opt_fd(L, "watch");
	lua_getfield(L, 2, "capture");
	p->capture = lua_toboolean(L, -1);
	lua_pop(L, 1);
	p->raw_cap = p->capture ? RAW_CAPTURE : RAW_MAX;
	p->raw = malloc(p->raw_cap);
	if (p->in_fd >= 0) {
		p->in = malloc(IN_MAX);
		p->send = malloc(IN_MAX + DP_KEYS_MAX);
	}
	if (!p->raw || (p->in_fd >= 0 && (!p->in || !p->send)))
		return luaL_error(L, "out of memory");
	p->out_fd[0] = -1;
	p->out_fd[DP_STDOUT] = opt_fd(L, "stdout");
	p->out_fd[DP_STDERR] = opt_fd(L, "stderr");
	for (i = 1; i < 3; i++) {
		p->out_always[i] = always_ready(p->out_fd[i]);
		p->out_chunk[i] = write_chunk(p->out_fd[i], !p->capture, &p->out_pipe[i]);
	}
	lua_getfield(L, 2, "tty");
	p->tty = lua_toboolean(L, -1);

	lua_getfield(L, 2, "signals");
	p->sig_fd = lua_toboolean(L, -1) ? dp_signal_fd() : -1;
	lua_pop(L, 2);

	lua_getfield(L, 2, "keys");
	nkeys = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
	for (i = 1; i <= nkeys; i++) {
		size_t n;
		const char *seq;
		int idx;
		lua_rawgeti(L, -1, (int)i);
		luaL_checktype(L, -1, LUA_TTABLE);
		lua_rawgeti(L, -1, 1);
		seq = luaL_checklstring(L, -1, &n);
		idx = dp_matcher_add(&p->keys, (const unsigned char *)seq, n);
		if (idx < 0)
			return luaL_error(L, "key binding %d: 1 to %d bytes, %d bindings at most", (int)i,
					  DP_KEYS_MAX, DP_BINDINGS_MAX);
		lua_getfield(L, -2, "detach");
		p->detaches[idx] = (unsigned char)lua_toboolean(L, -1);
		lua_pop(L, 3);
	}
	lua_pop(L, 1);
	p->open = 1;
	return 1;
}

/*
 * p:run([timeout_ms]) -> "end", [engine error] | "detach" | "key", index | "signal"
 *                      | "output", bytes, stream (with capture) | "watch" | "idle"
 *                      | nil, message (with what the engine said, if it did, before the break)
 * With no timeout it waits as long as it takes; 0 makes one non-blocking step.
 */
static int p_run(lua_State *L)
{
	pump *p = check_pump(L);
	dp_stream *s = pump_stream(L, p);
	int timeout = dp_opt_timeout_ms(L, 2);
	int ev;

	if (p->ended)
		ev = p->ended;
	else
		ev = run(p, s, timeout);
	switch (ev) {
	case EV_END:
		lua_pushliteral(L, "end");
		if (p->syserr_len) {
			lua_pushlstring(L, p->syserr, p->syserr_len);
			return 2;
		}
		return 1;
	case EV_DETACH: lua_pushliteral(L, "detach"); return 1;
	case EV_KEY:
		lua_pushliteral(L, "key");
		lua_pushinteger(L, p->match + 1);
		return 2;
	case EV_SIGNAL: lua_pushliteral(L, "signal"); return 1;
	case EV_OUTPUT:
		lua_pushliteral(L, "output");
		lua_pushlstring(L, p->segv[0].iov_base, p->seg_len);
		lua_pushinteger(L, p->seg_type);
		p->seg_len = 0;
		return 3;
	case EV_IDLE: lua_pushliteral(L, "idle"); return 1;
	case EV_WATCH: lua_pushliteral(L, "watch"); return 1;
	default:
		lua_pushnil(L);
		lua_pushstring(L, p->err);
		if (p->syserr_len) {
			/* what the engine said before the stream broke is part of the story, on
			 * the message's one line */
			char said[SYSERR_MAX];
			size_t n = p->syserr_len, i;
			while (n && (p->syserr[n - 1] == '\n' || p->syserr[n - 1] == '\r'))
				n--;
			memcpy(said, p->syserr, n);
			for (i = 0; i < n; i++)
				if (said[i] == '\n' || said[i] == '\r')
					said[i] = ' ';
			lua_pushliteral(L, " (the engine said: ");
			lua_pushlstring(L, said, n);
			lua_pushliteral(L, ")");
			lua_concat(L, 4);
		}
		return 2;
	}
}

/*
 * p:flush_input() -> true | false once the container takes no more input. Sends what was
 * typed and still waits to go, however long the container takes to read it, so that what
 * Lua writes to the stream next (a key's function sending bytes) comes after it, in order,
 * and a TLS write left half done is finished with the same bytes, as TLS requires.
 */
static int p_flush_input(lua_State *L)
{
	pump *p = check_pump(L);
	dp_stream *s = pump_stream(L, p);
	while (p->send_pos < p->send_len && !p->write_closed) {
		long k = dp_stream_write(s, (const char *)p->send + p->send_pos, p->send_len - p->send_pos);
		if (k > 0)
			p->send_pos += (size_t)k;
		else if (k != DP_AGAIN || dp_wait_fd(dp_stream_fd(s), POLLOUT, -1) < 0)
			input_gone(p);
	}
	p->send_wait = 0;
	lua_pushboolean(L, !p->write_closed);
	return 1;
}

/* p:fds() -> {{fd, "r" | "w" | "rw"}, ...}: what a host loop should watch before p:run(0) */
static int p_fds(lua_State *L)
{
	pump *p = check_pump(L);
	dp_stream *s = pump_stream(L, p);
	int n = 0;
	const char *sev = NULL;

	lua_newtable(L);
#define ADD(fd, what)                          \
	do {                                   \
		lua_createtable(L, 2, 0);      \
		lua_pushinteger(L, (fd));      \
		lua_rawseti(L, -2, 1);         \
		lua_pushstring(L, (what));     \
		lua_rawseti(L, -2, 2);         \
		lua_rawseti(L, -2, ++n);       \
	} while (0)
	if (p->ended)
		return 1;
	if (!p->stream_eof && p->seg_len == 0 && p->raw_pos == p->raw_len)
		sev = p->send_len > p->send_pos ? "rw" : "r";
	else if (p->send_len > p->send_pos)
		sev = "w";
	if (sev)
		ADD(dp_stream_fd(s), sev);
	if (p->in_fd >= 0 && !p->in_eof && p->in_pos == p->in_len && p->send_pos == p->send_len)
		ADD(p->in_fd, "r");
	if (p->seg_len)
		ADD(p->out_fd[p->seg_type], "w");
	if (p->sig_fd >= 0)
		ADD(p->sig_fd, "r");
	if (p->watch_fd >= 0)
		ADD(p->watch_fd, "r");
#undef ADD
	return 1;
}

/* p:watch([fd]): the fd run() reports when readable; none without one. */
static int p_watch(lua_State *L)
{
	pump *p = check_pump(L);
	p->watch_fd = dp_opt_int(L, 2, -1, 0, INT_MAX);
	return 0;
}

static int p_close(lua_State *L)
{
	pump *p = check_pump(L);
	p->open = 0;
	free(p->raw);
	free(p->in);
	free(p->send);
	p->raw = NULL;
	p->in = p->send = NULL;
	p->raw_len = p->raw_pos = p->seg_len = p->in_len = p->in_pos = p->send_len = p->send_pos = 0;
	return 0;
}

void dp_pump_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"run", p_run},
		{"fds", p_fds},
		{"flush_input", p_flush_input},
		{"watch", p_watch},
		{"close", p_close},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__gc", p_close},
		{"__close", p_close},
		{NULL, NULL},
	};

	dp_new_class(L, PUMP, meta, methods);
	lua_pushcfunction(L, l_pump);
	lua_setfield(L, -2, "pump");
}
