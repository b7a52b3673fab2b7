/*
 * What the gateway's files share: the listener's socket and TLS (listener.c), a connection's
 * non-blocking I/O over a socket or TLS and wslay's callbacks over it (websocket.c), used by
 * the event loop (gateway.c) and the client (websocket.c).
 */
#ifndef DOCKERPTY_GATEWAY_H
#define DOCKERPTY_GATEWAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>
#include <wslay/wslay.h>

#include "compat.h"

/* listener.c */
typedef struct dp_listener dp_listener;
dp_listener *dp_check_listener(lua_State *L, int idx);
/* The listening socket (-1 once closed) and its TLS context (NULL for plain). */
int dp_listener_fd(const dp_listener *l);
SSL_CTX *dp_listener_tls(const dp_listener *l);
int dp_listener_wants_client_cert(const dp_listener *l);
/* One waiting connection, non-blocking and close-on-exec, its peer as "ip:port" in peer:
 * its fd, or -1 with errno (EAGAIN when none waits). */
#define DP_PEER_MAX 64
int dp_listener_accept(dp_listener *l, char peer[DP_PEER_MAX]);

/* websocket.c: a socket, or TLS over it. Reads and writes return a count, 0 at the peer's
 * end (reads), or one of these. */
#define DP_IO_AGAIN (-1)
#define DP_IO_FAIL (-2)
typedef struct {
	int fd;   /* -1 once closed */
	SSL *ssl; /* NULL for plain */
	unsigned char read_wants_write, write_wants_read; /* TLS renegotiation's crossed wants */
	int err;  /* errno of the last failure, or 0 for a TLS one */
} dp_io;

void dp_io_init(dp_io *io, int fd, SSL *ssl);
long dp_io_read(dp_io *io, void *buf, size_t n);
long dp_io_write(dp_io *io, const void *buf, size_t n);
/* TLS's handshake, either side: 1 once done, DP_IO_AGAIN, DP_IO_FAIL. */
int dp_io_handshake(dp_io *io);
/* The poll events that let a wanted read or write go on. */
short dp_io_events(const dp_io *io, int want_read, int want_write);
/* A close_notify (TLS) and the write side shut, best effort and without waiting. */
void dp_io_shutdown(dp_io *io);
void dp_io_close(dp_io *io);
/* Why the last call failed, in a static buffer. */
const char *dp_io_error(const dp_io *io);

/* A WebSocket connection's bytes as wslay reads and writes them: those that came with the
 * HTTP head first, then the socket's. wslay's user_data points at one of these. */
typedef struct {
	dp_io io;
	char *pre; /* owned: freed by dp_wsio_free */
	size_t pre_len, pre_pos;
	unsigned char eof, failed; /* the peer's end, or a read or write error */
	unsigned char hold;        /* reads say "would block": the reader keeps input back */
	unsigned char budgeted, spent; /* reads count against budget; it ran out (retry later) */
	size_t budget;
	uint16_t close_code; /* wslay's empty close frame goes out with this code instead */
	unsigned char close_pos; /* of that frame's 4 bytes, those written */
	uint8_t head[14]; /* a frame's header, held to go out with its payload in one write */
	unsigned char head_len, head_pos;
	unsigned long long sent; /* bytes written to the peer, a measure of its progress */
} dp_wsio;

ssize_t dp_ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user);
ssize_t dp_ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
		   void *user);
int dp_ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user);
void dp_wsio_free(dp_wsio *w);

/*
 * The channel protocol's client messages, pure (fuzzed): [0][bytes] stdin, [4][JSON] a
 * resize {"Width":w,"Height":h}, [255][0] stdin's end. Returns the channel, with *data and
 * *len the payload; for a resize, 4 only when the JSON is an object with both sizes in
 * 1..65535 (else -1); for 255, only when its byte names stdin (else -1).
 */
enum { DP_CH_STDIN = 0, DP_CH_STDOUT = 1, DP_CH_STDERR = 2, DP_CH_STATUS = 3, DP_CH_RESIZE = 4,
       DP_CH_CLOSE = 255 };
int dp_ws_channel(const uint8_t *msg, size_t n, const uint8_t **data, size_t *len, int *width,
		  int *height);

#endif
