/*
 * ws_count: the fastest client the gateway's ceiling can have: opens one WebSocket session
 * on loopback (v5.channel.k8s.io, a bearer token), then reads the server's frames with plain
 * read() calls into a 256 KiB buffer, counting the payload bytes of channel 1 until the close
 * frame. No masking to undo: a server's frames are unmasked.
 *
 *   ws_count PORT TOKEN PATH    prints "BYTES SECONDS CLOSE_CODE" (from the 101 to the close frame)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (256 * 1024)

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "ws_count: %s: %s\n", what, errno ? strerror(errno) : "unexpected data");
	return 1;
}

int main(int argc, char **argv)
{
	static unsigned char buf[BUF + 16];
	struct sockaddr_in a = {.sin_family = AF_INET};
	char req[2048];
	size_t have = 0, pos;
	unsigned long long bytes = 0;
	int fd, n;
	double t0;
	if (argc != 4) {
		fprintf(stderr, "usage: ws_count PORT TOKEN PATH\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		return die("connect");
	n = snprintf(req, sizeof req,
		     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ZG9ja2VycHR5LWJlbmNoIQ==\r\n"
		     "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\nAuthorization: Bearer %s\r\n\r\n",
		     argv[3], argv[1], argv[2]);
	if (n <= 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n)
		return die("write");
	/* the 101's head, then frames */
	for (;;) {
		ssize_t k = read(fd, buf + have, BUF - have);
		unsigned char *end;
		if (k <= 0)
			return die("read the answer");
		have += (size_t)k;
		buf[have] = 0;
		end = (unsigned char *)strstr((char *)buf, "\r\n\r\n");
		if (!end)
			continue;
		if (strncmp((char *)buf, "HTTP/1.1 101", 12) != 0) {
			fprintf(stderr, "ws_count: the server answered %.*s\n", (int)(strchr((char *)buf, '\r') - (char *)buf), buf);
			return 1;
		}
		pos = (size_t)(end + 4 - buf);
		break;
	}
	t0 = now();
	for (;;) {
		/* whole frames in buf[pos..have) */
		while (have - pos >= 2) {
			unsigned op = buf[pos] & 0x0f;
			unsigned long long len = buf[pos + 1] & 0x7f;
			size_t h = 2;
			if (len == 126) {
				if (have - pos < 4)
					break;
				len = (unsigned long long)buf[pos + 2] << 8 | buf[pos + 3];
				h = 4;
			} else if (len == 127) {
				if (have - pos < 10)
					break;
				len = 0;
				for (int i = 0; i < 8; i++)
					len = len << 8 | buf[pos + 2 + i];
				h = 10;
			}
			if (op == 8) {
				double t = now() - t0;
				unsigned code = 0;
				while (len >= 2 && have - pos < h + 2) { /* the close code, for the record */
					ssize_t k = read(fd, buf + have, BUF - have);
					if (k <= 0)
						break;
					have += (size_t)k;
				}
				if (len >= 2 && have - pos >= h + 2)
					code = (unsigned)buf[pos + h] << 8 | buf[pos + h + 1];
				printf("%llu %.6f %u\n", bytes, t, code);
				return 0;
			}
			if (have - pos < h + 1 && len > 0)
				break; /* the channel byte is still to come */
			if (op == 2 && len > 0 && buf[pos + h] == 1)
				bytes += len - 1;
			/* skip the payload, reading past the buffer when it is larger */
			if (have - pos >= h + len) {
				pos += h + (size_t)len;
				continue;
			}
			{
				unsigned long long left = len - (have - pos - h);
				while (left > 0) {
					ssize_t k = read(fd, buf, left < BUF ? (size_t)left : BUF);
					if (k <= 0)
						return die("read");
					left -= (unsigned long long)k;
				}
				pos = have = 0;
			}
		}
		if (pos > 0) {
			memmove(buf, buf + pos, have - pos);
			have -= pos;
			pos = 0;
		}
		{
			ssize_t k = read(fd, buf + have, BUF - have);
			if (k <= 0)
				return die("read");
			have += (size_t)k;
		}
	}
}
