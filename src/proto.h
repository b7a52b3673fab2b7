/*
 * The pure parts: byte parsers with no I/O and no Lua, so they can be tested at every split
 * point and fuzzed. demux.c, keys.c and head.c implement them.
 */
#ifndef DOCKERPTY_PROTO_H
#define DOCKERPTY_PROTO_H

#include <stddef.h>

/* Multiplexed stream frames: [type, 0, 0, 0, size as big-endian uint32] then size bytes. */
enum { DP_STDIN = 0, DP_STDOUT = 1, DP_STDERR = 2, DP_SYSERR = 3 };

typedef struct {
	unsigned char head[8];
	size_t have;      /* header bytes collected */
	size_t remaining; /* payload bytes still to come in this frame */
	int type;
} dp_demux;

void dp_demux_init(dp_demux *d);
/*
 * Takes bytes from in[0..n): returns how many it consumed and, when it found payload, points
 * *out at it (inside in), with *out_len and *type set; *out_len is 0 when in ran out first.
 * Returns (size_t)-1 on a header that is not a frame, with nothing consumed.
 */
size_t dp_demux_next(dp_demux *d, const char *in, size_t n, const char **out, size_t *out_len,
		     int *type);

/* Key sequences: docker's "ctrl-p,ctrl-q" syntax and a streaming matcher. */
#define DP_KEYS_MAX 32
#define DP_BINDINGS_MAX 16

/* Parses spec into out (up to DP_KEYS_MAX bytes); returns the length, -1 with the bad
 * token copied into bad (NUL-terminated, at most bad_len), or -2 when it has too many keys. */
int dp_keys_parse(const char *spec, size_t spec_len, unsigned char *out, char *bad, size_t bad_len);

typedef struct {
	unsigned char seq[DP_BINDINGS_MAX][DP_KEYS_MAX];
	size_t len[DP_BINDINGS_MAX];
	size_t count;
	unsigned char starts[256]; /* 1 for a byte that begins some binding */
	int first;                 /* that byte when only one begins them all, else -1 */
	unsigned char held[DP_KEYS_MAX];
	size_t held_len;
} dp_matcher;

void dp_matcher_init(dp_matcher *m);
/* Adds a binding; returns its index, or -1 when full or the sequence is empty or too long. */
int dp_matcher_add(dp_matcher *m, const unsigned char *seq, size_t len);
/*
 * Feeds in[0..n): bytes to pass on are appended to out (room for n + DP_KEYS_MAX bytes),
 * *out_len set. Stops right after a binding completes and returns the bytes consumed, with
 * *match set to its index; *match is -1 when all of in was consumed with no match.
 */
size_t dp_matcher_feed(dp_matcher *m, const unsigned char *in, size_t n, unsigned char *out,
		       size_t *out_len, int *match);
/* Hands back held bytes (at end of input, say): returns how many were copied into out. */
size_t dp_matcher_flush(dp_matcher *m, unsigned char *out);

/* An HTTP/1.x response head. */
#define DP_HEAD_MAX ((size_t)16 * 1024)

typedef struct {
	int status;
	long long content_length; /* -1 when absent */
	int chunked;
	char content_type[128];
} dp_head;

/* Returns the head's length once buf holds all of it (through the blank line), 0 when more
 * is needed, -1 when it is not an HTTP response head or is longer than DP_HEAD_MAX. */
long dp_head_parse(const char *buf, size_t len, dp_head *h);

#endif
