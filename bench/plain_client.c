/*
 * plain_client: what a client written directly on the same library spends on the Output
 * scenario. It links libcurl, as the core does, attaches to a created container over the
 * unix socket (CURLOPT_CONNECT_ONLY, then the upgrade request by hand), starts it, and
 * copies what it receives to stdout with curl_easy_recv() and write() in 256 KiB reads:
 * no Lua, no pump, no JSON, no demultiplexing (a non-tty stream goes out with its frame
 * headers), no wait for the exit code.
 *
 *   plain_client SOCKET CONTAINER
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BUF (256 * 1024)

static char buf[BUF];

static int die(const char *what, const char *why)
{
	fprintf(stderr, "plain_client: %s: %s\n", what, why);
	return 1;
}

static int wait_fd(CURL *h, short events)
{
	curl_socket_t fd;
	struct pollfd p;
	if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK)
		return -1;
	p.fd = fd;
	p.events = events;
	return poll(&p, 1, -1) < 0 && errno != EINTR ? -1 : 0;
}

static int write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(1, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int start(const char *sock, const char *id)
{
	char url[512];
	long code = 0;
	CURL *h = curl_easy_init();
	CURLcode rc;
	if (!h)
		return die("start", "curl_easy_init failed");
	snprintf(url, sizeof url, "http://localhost/v1.41/containers/%s/start", id);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK)
		return die("start", curl_easy_strerror(rc));
	return code == 204 || code == 304 ? 0 : die("start", "the engine refused");
}

int main(int argc, char **argv)
{
	char req[1024];
	size_t len, sent = 0, have = 0;
	char *end = NULL;
	CURL *h;
	CURLcode rc;

	if (argc != 3)
		return die("usage", "plain_client SOCKET CONTAINER");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(h = curl_easy_init()))
		return die("libcurl", "cannot start");
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, argv[1]);
	curl_easy_setopt(h, CURLOPT_URL, "http://localhost/");
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	if ((rc = curl_easy_perform(h)) != CURLE_OK)
		return die(argv[1], curl_easy_strerror(rc));

	len = (size_t)snprintf(req, sizeof req,
			       "POST /v1.41/containers/%s/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
			       "Host: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
			       "Content-Length: 0\r\n\r\n",
			       argv[2]);
	while (sent < len) {
		size_t k = 0;
		rc = curl_easy_send(h, req + sent, len - sent, &k);
		if (rc == CURLE_AGAIN && wait_fd(h, POLLOUT) == 0)
			continue;
		if (rc != CURLE_OK)
			return die("attach", curl_easy_strerror(rc));
		sent += k;
	}
	/* the answer's head, then whatever of the stream came with it */
	while (!end) {
		size_t k = 0;
		if (have == BUF - 1)
			return die("attach", "answer head too long");
		rc = curl_easy_recv(h, buf + have, BUF - 1 - have, &k);
		if (rc == CURLE_AGAIN && wait_fd(h, POLLIN) == 0)
			continue;
		if (rc != CURLE_OK || k == 0)
			return die("attach", rc != CURLE_OK ? curl_easy_strerror(rc) : "closed");
		have += k;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (strncmp(buf, "HTTP/1.1 101", 12) != 0)
		return die("attach", "the engine did not upgrade the connection");
	end += 4;
	if (start(argv[1], argv[2]) != 0 || write_all(end, have - (size_t)(end - buf)) != 0)
		return 1;

	for (;;) {
		size_t k = 0;
		rc = curl_easy_recv(h, buf, BUF, &k);
		if (rc == CURLE_AGAIN && wait_fd(h, POLLIN) == 0)
			continue;
		if (rc != CURLE_OK)
			return die("stream", curl_easy_strerror(rc));
		if (k == 0)
			break;
		if (write_all(buf, k) != 0)
			return die("stdout", strerror(errno));
	}
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return 0;
}
