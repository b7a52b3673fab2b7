/* What the core's files share: each area's open function and the JSON bridge. */
#ifndef DOCKERPTY_H
#define DOCKERPTY_H

#include <limits.h>

#include <curl/curl.h>

#include "compat.h"

#define DP_VERSION "0.1.0"

/* Deepest nesting of arrays and objects accepted in either direction. */
#define DP_JSON_MAX_DEPTH 200

/* Each adds its functions to the module table on top of the stack. */
void dp_json_open(lua_State *L);
void dp_http_open(lua_State *L);
void dp_parsers_open(lua_State *L);
void dp_stream_open(lua_State *L);
void dp_term_open(lua_State *L);
void dp_pump_open(lua_State *L);

/* Registers the metatable NAME: the metamethods META (NULL for none), METHODS as __index. */
void dp_new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods);

/* Integer argument ARG in [lo, hi], else an error naming it: no silent narrowing to int. */
int dp_check_int(lua_State *L, int arg, lua_Integer lo, lua_Integer hi);
int dp_opt_int(lua_State *L, int arg, int dflt, lua_Integer lo, lua_Integer hi);
/* A timeout argument in milliseconds: -1 (the default) waits for ever. */
#define dp_opt_timeout_ms(L, arg) dp_opt_int((L), (arg), -1, -1, INT_MAX)

/* http.c: the engine transport, and new connections like its own for hijacked streams. */
typedef struct dp_transport dp_transport;
dp_transport *dp_check_transport(lua_State *L, int idx);
CURL *dp_transport_connect(lua_State *L, dp_transport *t, char *errbuf);
int dp_transport_failure(lua_State *L, const dp_transport *t, CURL *c, CURLcode rc,
			 const char *errbuf);
const char *dp_transport_endpoint(const dp_transport *t);
const char *dp_transport_authority(const dp_transport *t);
int dp_transport_is_tls(const dp_transport *t);

/* stream.c: a hijacked connection. Reads and writes return a count, or one of these. */
#define DP_AGAIN (-1)
#define DP_FAIL (-2)
typedef struct dp_stream dp_stream;
dp_stream *dp_check_stream(lua_State *L, int idx);
long dp_stream_read(dp_stream *s, char *buf, size_t n);
long dp_stream_write(dp_stream *s, const char *buf, size_t n);
int dp_stream_close_write(dp_stream *s);
int dp_stream_fd(const dp_stream *s);
const char *dp_stream_error(const dp_stream *s);

/* term.c: the self-pipe that signal handlers write signal numbers to (-1 when off). */
int dp_signal_fd(void);

/* term.c: /dev/null on each of 0, 1 and 2 that is closed, so that no socket takes its number. */
void dp_std_fds_guard(void);

/* Waits for events on fd for up to timeout_ms (-1: no limit), through EINTR; poll's result. */
int dp_wait_fd(int fd, short events, int timeout_ms);

#endif
