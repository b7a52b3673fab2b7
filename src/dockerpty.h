/*
 * What the engine's areas share with each other: the transport, the hijacked stream, the
 * terminal's signals. Each area's open function is in areas.h, the helpers in auxiliar.h.
 */
#ifndef DOCKERPTY_H
#define DOCKERPTY_H

#include <limits.h>

#include <curl/curl.h>

#include "areas.h"
#include "auxiliar.h"
#include "compat.h"

#define DP_VERSION "0.1.0"

/* Deepest nesting of arrays and objects accepted in either direction. */
#define DP_JSON_MAX_DEPTH 200

/* http.c: the engine transport, and new connections like its own for hijacked streams. */
typedef struct dp_transport dp_transport;
dp_transport *dp_check_transport(lua_State *L, int idx);
CURL *dp_transport_connect(lua_State *L, dp_transport *t, char *errbuf);
int dp_transport_failure(lua_State *L, const dp_transport *t, CURL *c, CURLcode rc,
			 const char *errbuf);
const char *dp_transport_endpoint(const dp_transport *t);
const char *dp_transport_authority(const dp_transport *t);
int dp_transport_is_tls(const dp_transport *t);
long dp_transport_timeout_ms(const dp_transport *t);

/* stream.c: a hijacked connection. Reads and writes return a count, or one of these. */
#define DP_AGAIN (-1)
#define DP_FAIL (-2)
typedef struct dp_stream dp_stream;
dp_stream *dp_check_stream(lua_State *L, int idx);
long dp_stream_read(dp_stream *s, char *buf, size_t n);
long dp_stream_write(dp_stream *s, const char *buf, size_t n);
int dp_stream_close_write(dp_stream *s);
int dp_stream_fd(const dp_stream *s);
int dp_stream_head_pending(const dp_stream *s);
const char *dp_stream_error(const dp_stream *s);

/* term.c: the self-pipe that signal handlers write signal numbers to (-1 when off). */
int dp_signal_fd(void);

/*
 * term.c: a blocking call that a signal must be able to end (a request to an engine that
 * never answers). Between begin and end, a signal that would end the process makes
 * dp_interrupted true; outside a session SIGINT, SIGTERM and SIGHUP are caught for the
 * while and raised again by end, to their own dispositions, once the call has given up.
 */
typedef struct {
	long seen; /* interrupts counted when it began */
	int guarded;
} dp_interruptible;
void dp_interruptible_begin(dp_interruptible *g);
int dp_interrupted(const dp_interruptible *g);
/* the signals counted so far: a caller that waits again and again sets seen from it, so that
 * one that came between two waits still counts */
long dp_interrupt_count(void);
void dp_interruptible_end(dp_interruptible *g);

/* term.c: /dev/null on each of 0, 1 and 2 that is closed, so that no socket takes its number. */
void dp_std_fds_guard(void);

#endif
