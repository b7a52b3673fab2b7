/*
 * sink: a stand-in for the engine's side of a hijacked attach, to measure a client's pump
 * with no engine in the way.
 *
 *   sink serve SOCKET BYTES [CONNECTIONS]
 *       listens on the unix socket SOCKET; for each connection reads an HTTP request head,
 *       answers "101 UPGRADED" as the engine does for an attach, writes BYTES bytes of
 *       raw-stream (tty) data and closes. Prints "ready" on stdout once listening; exits
 *       after CONNECTIONS connections (1 by default).
 *   sink read SOCKET
 *       the baseline: connects, sends a request head, reads everything with plain read()
 *       calls into a 64 KiB buffer, and prints "BYTES SECONDS" (from the first byte of the
 *       body to the end).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static const char answer[] = "HTTP/1.1 101 UPGRADED\r\n"
			     "Content-Type: application/vnd.docker.raw-stream\r\n"
			     "Connection: Upgrade\r\n"
			     "Upgrade: tcp\r\n"
			     "\r\n";

static int die(const char *what)
{
	fprintf(stderr, "sink: %s: %s\n", what, strerror(errno));
	return 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads up to the blank line that ends a request head; a body is not expected. */
static int read_head(int fd)
{
	char buf[8192];
	size_t len = 0;
	while (len < sizeof buf - 1) {
		ssize_t k = read(fd, buf + len, sizeof buf - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		len += (size_t)k;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return 0;
	}
	return -1;
}

static int serve(const char *path, long long bytes, int conns)
{
	static char data[CHUNK];
	struct sockaddr_un sa;
	int ls, i;

	memset(data, 'x', sizeof data);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 4) != 0)
		return die(path);
	printf("ready\n");
	fflush(stdout);
	for (i = 0; i < conns; i++) {
		long long left = bytes;
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			return die("accept");
		if (read_head(c) != 0 || write_all(c, answer, sizeof answer - 1) != 0) {
			close(c);
			continue;
		}
		while (left > 0) {
			size_t n = left < CHUNK ? (size_t)left : CHUNK;
			if (write_all(c, data, n) != 0)
				break;
			left -= (long long)n;
		}
		close(c);
	}
	close(ls);
	unlink(path);
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int baseline(const char *path)
{
	static char buf[65536];
	static const char req[] = "POST /v1.41/containers/x/attach?stream=1&stdout=1 HTTP/1.1\r\n"
				  "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
	struct sockaddr_un sa;
	long long total = 0;
	size_t head = 0;
	double t0 = 0;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0)
		return die(path);
	if (write_all(s, req, sizeof req - 1) != 0)
		return die("write");
	for (;;) {
		ssize_t k = read(s, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return die("read");
		if (k == 0)
			break;
		if (head < sizeof answer - 1) { /* the answer's head, not counted */
			size_t h = sizeof answer - 1 - head;
			if ((size_t)k < h) {
				head += (size_t)k;
				continue;
			}
			head += h;
			k -= (ssize_t)h;
			t0 = now();
		}
		total += k;
	}
	printf("%lld %.6f\n", total, now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], atoll(argv[3]), argc > 4 ? atoi(argv[4]) : 1);
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return baseline(argv[2]);
	fprintf(stderr, "usage: sink serve SOCKET BYTES [CONNECTIONS] | sink read SOCKET\n");
	return 2;
}
