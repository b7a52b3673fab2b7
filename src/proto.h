/*
 * The pure parts: byte parsers with no I/O and no Lua, so they can be tested at every split
 * point and fuzzed. demux.c, keys.c and head.c implement them; request.c and handshake.c
 * the gateway's: request heads, request paths and the WebSocket opening handshake.
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

/*
 * The fields of a response head as libcurl hands it over (status lines, "Name: value"
 * lines, CRLF or LF). From *pos, finds the next field: returns 1 with the name and the
 * value (spaces trimmed) pointing into data and *pos past its line, 0 at the end. Lines
 * that are no field (a status line, a line without ':' or with an empty name) are skipped.
 */
typedef struct {
	const char *name, *value;
	size_t name_len, value_len;
} dp_field;
int dp_head_field(const char *data, size_t len, size_t *pos, dp_field *f);

/*
 * An HTTP/1.x request head, as a server reads it: fed the bytes so far, again and again as
 * more arrive, it goes on where it stopped. Strict: origin-form targets only, CRLF line ends,
 * no obs-fold, no duplicate Host, Content-Length, Transfer-Encoding or both of the last two.
 */
enum { DP_REQ_MORE = 0, DP_REQ_DONE = 1, DP_REQ_ERROR = -1 };

typedef struct {
	size_t name, name_len, value, value_len; /* offsets into the caller's buffer; OWS trimmed */
} dp_req_field;

typedef struct {
	/* the caller's bounds (dp_request_init) */
	size_t max_head, max_target, max_fields;
	dp_req_field *fields; /* room for max_fields */
	/* once done: offsets into the caller's buffer, and what the fields said */
	size_t length; /* of the head, through the blank line */
	size_t method_len; /* the method starts the buffer */
	size_t target, target_len;
	int minor; /* HTTP/1.minor: 0 or 1 */
	size_t nfields;
	long long content_length; /* -1 when absent */
	int chunked;
	/* on an error: the status to answer with (400, 414, 431, 501, 505) and why */
	int status;
	const char *reason;
	/* where it stopped */
	size_t pos, mark, vend;
	int state, host_seen, te_seen;
} dp_request;

void dp_request_init(dp_request *r, size_t max_head, size_t max_target, dp_req_field *fields,
		     size_t max_fields);
/*
 * buf[0..len) holds every byte of the request so far, those of earlier calls first. Returns
 * DP_REQ_MORE, DP_REQ_DONE with r->length set (bytes past it are the body's, or the next
 * protocol's), or DP_REQ_ERROR with r->status and r->reason; then the same again.
 */
int dp_request_parse(dp_request *r, const char *buf, size_t len);
/* 1 for a tchar of RFC 9110, what methods, field names and list tokens are made of. */
int dp_http_tchar(unsigned char c);
/* The index of the next field named name (any case) from index from on, or -1. */
long dp_request_field(const dp_request *r, const char *buf, const char *name, size_t from);

/*
 * A request target's path (up to any '?') percent-decoded and normalised for a file lookup:
 * empty and "." segments dropped, a trailing '/' kept. Refuses a ".." segment, an encoded
 * '/', a backslash, NUL or another control byte, a bad percent-encoding: returns -1 with
 * *why set. Else 0, with the NUL-terminated path in out (cap >= n + 1 always suffices).
 */
int dp_path_clean(const char *target, size_t n, char *out, size_t cap, size_t *out_len,
		  const char **why);

/* The WebSocket opening handshake (RFC 6455 section 4), both sides. */
#define DP_WS_KEY_LEN 24    /* base64 of 16 bytes */
#define DP_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define DP_WS_PROTOCOLS_MAX 16

typedef struct {
	size_t off, len; /* into the caller's buffer */
} dp_span;

typedef struct {
	char accept[DP_WS_ACCEPT_LEN + 1]; /* Sec-WebSocket-Accept's value */
	dp_span protocols[DP_WS_PROTOCOLS_MAX]; /* Sec-WebSocket-Protocol's, in order */
	size_t nprotocols;
	int status; /* on a refusal: 400, 405, 426 (answer with Sec-WebSocket-Version: 13) */
	const char *reason;
} dp_ws_upgrade;

/* Checks a parsed request (r done over buf) as an upgrade: 0 with u filled, or -1. */
int dp_ws_server_check(const dp_request *r, const char *buf, dp_ws_upgrade *u);
/* The accept value for a key: key's bytes as they came, the GUID appended, SHA-1, base64. */
int dp_ws_accept(const char *key, size_t key_len, char out[DP_WS_ACCEPT_LEN + 1]);
/* A client's fresh key: 16 random bytes in base64; 0, or -1 when the generator fails. */
int dp_ws_client_key(char out[DP_WS_KEY_LEN + 1]);
/* 1 when a server's Sec-WebSocket-Accept (OWS trimmed) answers key, else 0. */
int dp_ws_client_check(const char *key, const char *accept, size_t accept_len);
/*
 * A server's answer to a client's upgrade, its head whole (dp_head_parse's input): 0 when it
 * is a 101 with Upgrade: websocket, Connection: Upgrade, the accept for key, no extension, and
 * at most one subprotocol, one of offered (a comma-separated list, NULL for none), its span in
 * *protocol (len 0 for none). Else -1 with *why.
 */
int dp_ws_client_verify(const char *head, size_t len, const char *key, const char *offered,
			dp_span *protocol, const char **why);

/* asciicast v2 events (cast.c): [time, "code", "text"] and a newline, one a line. text is
 * the bytes as valid UTF-8, JSON-escaped: an invalid byte becomes U+FFFD, and a sequence cut
 * off by the end of data waits in carry (up to 3 bytes, *carry_len of them) for the next
 * piece, which goes in front of it. out needs DP_CAST_MAX(n) bytes; returns the length. */
#define DP_CAST_MAX(n) (6 * ((n) + 4) + 64)
size_t dp_cast_event(char *out, double t, char code, const char *data, size_t n,
		     unsigned char carry[4], size_t *carry_len);

#endif
