/*
 * The gateway's listening socket: TCP on an address, or a unix socket of mode 0600, with TLS
 * from OpenSSL (1.2 and later) and, if asked, a client certificate required.
 *   core.listen(address, {tls_cert=, tls_key=, tls_client_ca=, backlog=}) -> listener | nil, message
 *     address: "HOST:PORT", "[V6]:PORT" (port 0 picks a free one) or "unix:PATH"; a unix
 *     socket replaces only a stale socket (one nothing answers on) at PATH
 *   listener:address() -> the bound address, its real port ("127.0.0.1:40121", "unix:/run/x")
 *   listener:tls() -> boolean;  listener:fileno();  listener:close() (removes its unix socket)
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "areas.h"
#include "auxiliar.h"
#include "gateway.h"

#define LISTENER "dockerpty.Listener"
#define ADDRESS_MAX 256

struct dp_listener {
	int fd; /* -1 once closed */
	SSL_CTX *tls;
	int client_cert;
	char address[ADDRESS_MAX + 8];
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" unless unix */
};

dp_listener *dp_check_listener(lua_State *L, int idx)
{
	dp_listener *l = luaL_checkudata(L, idx, LISTENER);
	if (l->fd < 0)
		luaL_error(L, "listener on %s is closed", l->address);
	return l;
}

int dp_listener_fd(const dp_listener *l)
{
	return l->fd;
}

SSL_CTX *dp_listener_tls(const dp_listener *l)
{
	return l->tls;
}

int dp_listener_wants_client_cert(const dp_listener *l)
{
	return l->client_cert;
}

/* "ip:port" or "[ip6]:port" of a socket address */
static void format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
	char host[1025], port[32]; /* NI_MAXHOST and NI_MAXSERV, which POSIX leaves out */
	if (sa->sa_family == AF_UNIX) {
		snprintf(out, cap, "unix");
		return;
	}
	if (getnameinfo(sa, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(out, cap, "?");
		return;
	}
	snprintf(out, cap, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

int dp_listener_accept(dp_listener *l, char peer[DP_PEER_MAX])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd = accept(l->fd, (struct sockaddr *)&ss, &len);
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
		/* a keystroke's echo is one small frame: sent at once, not held for the peer's
		 * delayed ACK (some 40 ms) as Nagle's algorithm would */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	format_addr((struct sockaddr *)&ss, len, peer, DP_PEER_MAX);
	return fd;
}

static void listener_release(dp_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (l->unix_path[0])
		unlink(l->unix_path);
	l->unix_path[0] = '\0';
	SSL_CTX_free(l->tls);
	l->tls = NULL;
}

static int fail(lua_State *L, dp_listener *l, const char *fmt, const char *a, const char *b)
{
	listener_release(l);
	lua_pushnil(L);
	lua_pushfstring(L, fmt, a, b);
	return 2;
}

/* OpenSSL's last error, for a message */
static const char *tls_reason(void)
{
	static char buf[256];
	unsigned long e = ERR_peek_last_error();
	if (!e)
		return "unknown TLS error";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

static int setup_tls(lua_State *L, dp_listener *l, const char *cert, const char *key, const char *ca)
{
	ERR_clear_error();
	l->tls = SSL_CTX_new(TLS_server_method());
	if (!l->tls || !SSL_CTX_set_min_proto_version(l->tls, TLS1_2_VERSION))
		return fail(L, l, "listen: cannot set up TLS: %s%s", tls_reason(), "");
	SSL_CTX_set_mode(l->tls, SSL_MODE_RELEASE_BUFFERS); /* idle connections hold no TLS buffers */
	if (SSL_CTX_use_certificate_chain_file(l->tls, cert) != 1)
		return fail(L, l, "listen: cannot read the certificate %s: %s", cert, tls_reason());
	if (SSL_CTX_use_PrivateKey_file(l->tls, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH)
		return fail(L, l, "listen: cannot read the key %s: %s", key, tls_reason());
	if (SSL_CTX_check_private_key(l->tls) != 1)
		return fail(L, l, "listen: the key %s does not match the certificate %s", key, cert);
	if (ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
		if (!names || SSL_CTX_load_verify_locations(l->tls, ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return fail(L, l, "listen: cannot read the client CA %s: %s", ca, tls_reason());
		}
		SSL_CTX_set_client_CA_list(l->tls, names);
		SSL_CTX_set_verify(l->tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		l->client_cert = 1;
	}
	return 0;
}

static int listen_unix(lua_State *L, dp_listener *l, const char *path, int backlog)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int r;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) == 0 || strlen(path) >= sizeof sa.sun_path)
		return fail(L, l, "listen: unix:%s: %s", path, "the path is empty or too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		int probe;
		if (!S_ISSOCK(st.st_mode))
			return fail(L, l, "listen: unix:%s: %s", path, "exists and is not a socket");
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = probe < 0 ? -1 : connect(probe, (struct sockaddr *)&sa, sizeof sa);
		if (probe >= 0)
			close(probe);
		if (r == 0)
			return fail(L, l, "listen: unix:%s: %s", path, "another server listens on it");
		if (unlink(path) != 0)
			return fail(L, l, "listen: cannot remove the stale socket %s: %s", path, strerror(errno));
	}
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return fail(L, l, "listen: unix:%s: %s", path, strerror(errno));
	old = umask(0177); /* created 0600: no moment at which another user may connect */
	r = bind(l->fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r != 0)
		return fail(L, l, "listen: cannot bind unix:%s: %s", path, strerror(errno));
	memcpy(l->unix_path, path, strlen(path) + 1);
	if (chmod(path, 0600) != 0 || listen(l->fd, backlog) != 0)
		return fail(L, l, "listen: unix:%s: %s", path, strerror(errno));
	snprintf(l->address, sizeof l->address, "unix:%s", path);
	return 0;
}

static int listen_tcp(lua_State *L, dp_listener *l, const char *address, int backlog)
{
	char host[ADDRESS_MAX];
	const char *colon = strrchr(address, ':'), *port;
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	size_t hlen;
	int one = 1, r;

	if (!colon || colon == address || !colon[1])
		return fail(L, l, "listen: %s: %s", address, "not HOST:PORT, [V6]:PORT or unix:PATH");
	port = colon + 1;
	hlen = (size_t)(colon - address);
	if (address[0] == '[') {
		if (hlen < 3 || address[hlen - 1] != ']')
			return fail(L, l, "listen: %s: %s", address, "a bad [V6] address");
		memcpy(host, address + 1, hlen - 2);
		host[hlen - 2] = '\0';
	} else {
		if (memchr(address, ':', hlen))
			return fail(L, l, "listen: %s: %s", address, "an IPv6 address goes in brackets");
		memcpy(host, address, hlen);
		host[hlen] = '\0';
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0)
		return fail(L, l, "listen: %s: %s", address, gai_strerror(r));
	l->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0) {
		freeaddrinfo(ai);
		return fail(L, l, "listen: %s: %s", address, strerror(errno));
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ai->ai_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	r = bind(l->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r != 0)
		return fail(L, l, "listen: cannot bind %s: %s", address,
			    errno == EADDRINUSE ? "the port is in use" : strerror(errno));
	if (listen(l->fd, backlog) != 0 || getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0)
		return fail(L, l, "listen: %s: %s", address, strerror(errno));
	format_addr((struct sockaddr *)&ss, len, l->address, sizeof l->address);
	return 0;
}

static const char *opt_string(lua_State *L, int idx, const char *name)
{
	const char *s;
	lua_getfield(L, idx, name);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return NULL;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "listen: %s must be a string", name);
	s = lua_tostring(L, -1);
	lua_pop(L, 1); /* still referenced by the options table */
	return s;
}

static int l_listen(lua_State *L)
{
	size_t alen;
	const char *address = luaL_checklstring(L, 1, &alen);
	const char *cert = NULL, *key = NULL, *ca = NULL;
	int backlog = 511, r;
	dp_listener *l;

	luaL_argcheck(L, alen > 0 && alen <= ADDRESS_MAX, 1, "empty or too long");
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		cert = opt_string(L, 2, "tls_cert");
		key = opt_string(L, 2, "tls_key");
		ca = opt_string(L, 2, "tls_client_ca");
		lua_getfield(L, 2, "backlog");
		backlog = dp_opt_int(L, -1, backlog, 1, 65535);
		lua_pop(L, 1);
		if (!cert != !key)
			return luaL_error(L, "listen: tls_cert and tls_key go together");
		if (ca && !cert)
			return luaL_error(L, "listen: tls_client_ca needs tls_cert and tls_key");
	}
	l = lua_newuserdatauv(L, sizeof *l, 0);
	memset(l, 0, sizeof *l);
	l->fd = -1; /* closed until it is whole: a failure half-way leaves nothing open */
	snprintf(l->address, sizeof l->address, "%s", address);
	luaL_setmetatable(L, LISTENER);
	if (cert && (r = setup_tls(L, l, cert, key, ca)) != 0)
		return r;
	if (strncmp(address, "unix:", 5) == 0)
		r = listen_unix(L, l, address + 5, backlog);
	else
		r = listen_tcp(L, l, address, backlog);
	return r ? r : 1;
}

static int m_address(lua_State *L)
{
	lua_pushstring(L, dp_check_listener(L, 1)->address);
	return 1;
}

static int m_tls(lua_State *L)
{
	lua_pushboolean(L, dp_check_listener(L, 1)->tls != NULL);
	return 1;
}

static int m_fileno(lua_State *L)
{
	lua_pushinteger(L, dp_check_listener(L, 1)->fd);
	return 1;
}

static int m_close(lua_State *L)
{
	listener_release(luaL_checkudata(L, 1, LISTENER));
	return 0;
}

static int m_tostring(lua_State *L)
{
	dp_listener *l = luaL_checkudata(L, 1, LISTENER);
	lua_pushfstring(L, LISTENER " (%s%s)", l->address, l->fd < 0 ? ", closed" : "");
	return 1;
}

void dp_listener_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"address", m_address},
		{"tls", m_tls},
		{"fileno", m_fileno},
		{"close", m_close},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__gc", m_close},
		{"__close", m_close},
		{"__tostring", m_tostring},
		{NULL, NULL},
	};
	dp_new_class(L, LISTENER, meta, methods);
	lua_pushcfunction(L, l_listen);
	lua_setfield(L, -2, "listen");
}
