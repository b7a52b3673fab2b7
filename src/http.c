/*
 * The engine transport: one libcurl easy handle per endpoint, so one connection is reused
 * across requests. It moves bytes only; paths, JSON and API versions are the Lua side's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "dockerpty.h"
#include "proto.h"

#define TRANSPORT "dockerpty.Transport"
#define HEAD_MAX ((size_t)64 * 1024)
#define BODY_MAX_DEFAULT ((size_t)64 * 1024 * 1024)
#define SECONDS_MAX 2147483.0 /* timeouts in ms fit an int */

/* A byte buffer that refuses to grow past max. */
typedef struct {
	char *data;
	size_t len, cap, max;
	int overflow;
} buffer;

struct dp_transport {
	CURL *curl; /* NULL once closed */
	char *base; /* "http://localhost", "https://127.0.0.1:2376" */
	char *endpoint; /* how messages name it: "unix:///var/run/docker.sock" */
	char *unix_path, *ca, *cert, *key; /* kept to open more connections like the first */
	long connect_timeout_ms, timeout_ms;
	int tls;
	long connects;
	buffer head, body;
	char err[CURL_ERROR_SIZE];
};
typedef struct dp_transport transport;

static int buffer_add(buffer *b, const char *p, size_t n)
{
	if (n > b->max - b->len) {
		b->overflow = 1;
		return 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;
		while (cap < b->len + n)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 1;
}

static void buffer_reset(buffer *b)
{
	b->len = 0;
	b->overflow = 0;
	/* A large response once should not pin its memory for the handle's life. */
	if (b->cap > (size_t)1024 * 1024) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
}

static void buffer_free(buffer *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	transport *t = ud;
	return buffer_add(&t->body, p, size * n) ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	transport *t = ud;
	/* A new status line starts a new response head (after a 100 Continue, say). */
	if (size * n >= 5 && memcmp(p, "HTTP/", 5) == 0)
		t->head.len = 0;
	return buffer_add(&t->head, p, size * n) ? size * n : 0;
}

/* Releases the connection; the names stay until __gc so errors can still say what closed. */
static int t_close(lua_State *L)
{
	transport *t = luaL_checkudata(L, 1, TRANSPORT);
	if (t->curl)
		curl_easy_cleanup(t->curl);
	t->curl = NULL;
	buffer_free(&t->head);
	buffer_free(&t->body);
	return 0;
}

static int t_gc(lua_State *L)
{
	transport *t = luaL_checkudata(L, 1, TRANSPORT);
	t_close(L);
	free(t->base);
	free(t->endpoint);
	free(t->unix_path);
	free(t->ca);
	free(t->cert);
	free(t->key);
	t->base = t->endpoint = t->unix_path = t->ca = t->cert = t->key = NULL;
	return 0;
}

/* Only a string proper: it stays alive in the table after the pop, where a number
 * converted on the stack would not. */
static const char *opt_string(lua_State *L, const char *key)
{
	const char *s = NULL;
	int type;
	lua_getfield(L, 1, key);
	type = lua_type(L, -1);
	if (type == LUA_TSTRING)
		s = lua_tostring(L, -1);
	else if (type != LUA_TNIL)
		luaL_error(L, "transport: %s must be a string", key);
	lua_pop(L, 1);
	return s;
}

/* A number in [lo, hi] (NaN is not), or dflt when absent. */
static lua_Number opt_number(lua_State *L, const char *key, lua_Number dflt, lua_Number lo,
			     lua_Number hi)
{
	lua_Number n = dflt;
	int type;
	lua_getfield(L, 1, key);
	type = lua_type(L, -1);
	if (type == LUA_TNUMBER)
		n = lua_tonumber(L, -1);
	else if (type != LUA_TNIL)
		luaL_error(L, "transport: %s must be a number", key);
	lua_pop(L, 1);
	if (!(n >= lo && n <= hi))
		luaL_error(L, "transport: %s out of range", key);
	return n;
}

/* What was already held is released by __gc; NULL stays NULL. */
static char *dup_or_raise(lua_State *L, const char *s)
{
	char *d;
	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		luaL_error(L, "out of memory");
	return d;
}

/* A transfer gives up once a signal that would end the process has come (libcurl calls
 * this about once a second while it waits, and as bytes move). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return ud && dp_interrupted(ud);
}

/* Runs the transfer on c, which a signal can end: CURLE_ABORTED_BY_CALLBACK then. The
 * caller ends g once it has pushed its results, which raises any signal caught meanwhile. */
static CURLcode perform(CURL *c, dp_interruptible *g)
{
	CURLcode rc;
	dp_interruptible_begin(g);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, g);
	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, NULL);
	if (rc == CURLE_OK && dp_interrupted(g))
		rc = CURLE_ABORTED_BY_CALLBACK; /* came at the very end: still an interrupt */
	return rc;
}

/* A handle with every setting of t but the per-request ones; errors land in errbuf. */
static CURL *new_handle(transport *t, char *errbuf)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, NULL);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "dockerpty/" DP_VERSION);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
	/* The engine is reached directly, never through http_proxy and the like: an attach
	 * or exec stream cannot pass a proxy, and docker dials those directly too. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (t->unix_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->unix_path);
	if (t->tls) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
		curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
		if (t->ca)
			curl_easy_setopt(c, CURLOPT_CAINFO, t->ca);
		if (t->cert)
			curl_easy_setopt(c, CURLOPT_SSLCERT, t->cert);
		if (t->key) {
			curl_easy_setopt(c, CURLOPT_SSLKEY, t->key);
			/* an encrypted key fails, as with docker, rather than OpenSSL asking for
			 * its pass phrase on the terminal, which may be in raw mode */
			curl_easy_setopt(c, CURLOPT_KEYPASSWD, "");
		}
	}
	return c;
}

/*
 * transport{base = URL, endpoint = NAME, unix_socket = PATH, ca_file =, cert_file =,
 *           key_file =, connect_timeout = s, timeout = s, max_body = bytes}
 */
static int t_new(lua_State *L)
{
	const char *base, *endpoint, *unix_path, *ca, *cert, *key;
	lua_Number connect_timeout, timeout, max_body;
	transport *t;
	CURL *c;

	luaL_checktype(L, 1, LUA_TTABLE);
	base = opt_string(L, "base");
	if (!base)
		return luaL_error(L, "transport: base expected");
	endpoint = opt_string(L, "endpoint");
	unix_path = opt_string(L, "unix_socket");
	ca = opt_string(L, "ca_file");
	cert = opt_string(L, "cert_file");
	key = opt_string(L, "key_file");
	connect_timeout = opt_number(L, "connect_timeout", 30, 0, SECONDS_MAX);
	timeout = opt_number(L, "timeout", 0, 0, SECONDS_MAX);
	max_body = opt_number(L, "max_body", BODY_MAX_DEFAULT, 1, (lua_Number)((size_t)-1 >> 2));

	/* Closed until every resource is held, so a failure half-way stays consistent. */
	t = lua_newuserdatauv(L, sizeof *t, 0);
	memset(t, 0, sizeof *t);
	luaL_setmetatable(L, TRANSPORT);
	t->tls = strncmp(base, "https:", 6) == 0;
	t->head.max = HEAD_MAX;
	t->body.max = (size_t)max_body;
	t->base = dup_or_raise(L, base);
	t->endpoint = dup_or_raise(L, endpoint ? endpoint : base);
	t->unix_path = dup_or_raise(L, unix_path);
	t->ca = dup_or_raise(L, ca);
	t->cert = dup_or_raise(L, cert);
	t->key = dup_or_raise(L, key);
	t->connect_timeout_ms = (long)(connect_timeout * 1000);
	t->timeout_ms = (long)(timeout * 1000);
	c = new_handle(t, t->err);
	if (!c)
		return luaL_error(L, "cannot create a libcurl handle");
	t->curl = c;
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	return 1;
}

static int is_tls_error(const transport *t, CURLcode rc, const char *errbuf)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return 1;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		/* TLS 1.3 reports a refused client certificate only when reading after the handshake. */
		return t->tls && strstr(errbuf, "SSL") != NULL;
	default:
		return 0;
	}
}

/* Pushes nil, message, code for a failed transfer on handle c of transport t. */
int dp_transport_failure(lua_State *L, const transport *t, CURL *c, CURLcode rc, const char *errbuf)
{
	long os_errno = 0;
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	lua_pushnil(L);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		lua_pushfstring(L, "request to %s interrupted by a signal", t->endpoint);
		lua_pushliteral(L, "interrupted");
	} else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
		lua_pushfstring(L, "cannot connect to %s: %s", t->endpoint,
				os_errno ? strerror((int)os_errno) : why);
		lua_pushliteral(L, "connect");
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		lua_pushfstring(L, "timed out talking to %s: %s", t->endpoint, why);
		lua_pushliteral(L, "timeout");
	} else if (is_tls_error(t, rc, errbuf) && strstr(why, "alert")) {
		/* The engine's alert is the only word on a refused client certificate. */
		lua_pushfstring(L, "TLS with %s failed: the engine refused %s: %s", t->endpoint,
				t->cert ? "the client certificate (is it signed by a CA the engine trusts?)"
					: "the connection without a client certificate (cert.pem, key.pem)",
				why);
		lua_pushliteral(L, "tls");
	} else if (rc == CURLE_SSL_CERTPROBLEM && t->key && strstr(why, "private key")) {
		lua_pushfstring(L, "TLS with %s failed: cannot use the key %s: not the private key "
				   "of cert.pem, or encrypted with a pass phrase (dockerpty takes none; "
				   "openssl pkey -in it -out a new file decrypts it): %s",
				t->endpoint, t->key, why);
		lua_pushliteral(L, "tls");
	} else if (is_tls_error(t, rc, errbuf)) {
		lua_pushfstring(L, "TLS with %s failed: %s", t->endpoint, why);
		lua_pushliteral(L, "tls");
	} else {
		lua_pushfstring(L, "request to %s failed: %s", t->endpoint, why);
		lua_pushliteral(L, "transport");
	}
	return 3;
}

static int push_failure(lua_State *L, transport *t, CURLcode rc)
{
	if (t->body.overflow || t->head.overflow) {
		char max[32];
		snprintf(max, sizeof max, "%zu", t->body.overflow ? t->body.max : t->head.max);
		lua_pushnil(L);
		lua_pushfstring(L, "response from %s is larger than %s bytes", t->endpoint, max);
		lua_pushliteral(L, "too_large");
		return 3;
	}
	return dp_transport_failure(L, t, t->curl, rc, t->err);
}

dp_transport *dp_check_transport(lua_State *L, int idx)
{
	transport *t = luaL_checkudata(L, idx, TRANSPORT);
	if (!t->curl)
		luaL_error(L, "transport to %s is closed", t->endpoint ? t->endpoint : "?");
	return t;
}

/*
 * A new connection for a hijacked stream: connected, TLS done, nothing sent. Returns the
 * handle, or NULL with nil, message, code pushed. errbuf must outlive the handle.
 */
CURL *dp_transport_connect(lua_State *L, dp_transport *t, char *errbuf)
{
	CURLcode rc;
	dp_interruptible g;
	CURL *c = new_handle(t, errbuf);

	if (!c) {
		luaL_error(L, "cannot create a libcurl handle");
		return NULL;
	}
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, t->base);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	rc = perform(c, &g);
	if (rc != CURLE_OK) {
		dp_transport_failure(L, t, c, rc, errbuf);
		curl_easy_cleanup(c);
		dp_interruptible_end(&g);
		return NULL;
	}
	dp_interruptible_end(&g);
	return c;
}

const char *dp_transport_endpoint(const dp_transport *t)
{
	return t->endpoint;
}

/* The Host header: the authority of the base URL ("localhost" for a unix socket). */
const char *dp_transport_authority(const dp_transport *t)
{
	const char *p = strstr(t->base, "://");
	return p ? p + 3 : t->base;
}

/* The transport's deadline for a whole request, in ms; 0 for none. */
long dp_transport_timeout_ms(const dp_transport *t)
{
	return t->timeout_ms;
}

int dp_transport_is_tls(const dp_transport *t)
{
	return t->tls;
}

/* Pushes the response head's fields as a table, names in lower case, repeats joined by ", ". */
static void push_headers(lua_State *L, const buffer *h)
{
	size_t pos = 0;
	dp_field f;

	lua_newtable(L);
	while (h->data && dp_head_field(h->data, h->len, &pos, &f)) {
		luaL_Buffer name;
		size_t k;
		luaL_buffinit(L, &name);
		for (k = 0; k < f.name_len; k++)
			luaL_addchar(&name, (char)tolower((unsigned char)f.name[k]));
		luaL_pushresult(&name);
		lua_pushvalue(L, -1);
		lua_rawget(L, -3);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_pushlstring(L, f.value, f.value_len);
		} else {
			lua_pushliteral(L, ", ");
			lua_pushlstring(L, f.value, f.value_len);
			lua_concat(L, 3);
		}
		lua_rawset(L, -3);
	}
}

/*
 * t:request(method, target, [body, [content_type, [timeout]]]) -> status, body, headers
 *                                                              | nil, message, code
 * timeout in seconds for this request alone (0: none), else the transport's.
 */
static int t_request(lua_State *L)
{
	transport *t = dp_check_transport(L, 1);
	const char *method = luaL_checkstring(L, 2);
	const char *target = luaL_checkstring(L, 3);
	size_t body_len = 0;
	const char *body = luaL_optlstring(L, 4, NULL, &body_len);
	const char *content_type = luaL_optstring(L, 5, "application/json");
	lua_Number timeout = luaL_optnumber(L, 6, -1);
	long timeout_ms = timeout >= 0 ? (long)(timeout * 1000) : -1;
	struct curl_slist *headers = NULL, *h;
	const char *url;
	long status = 0, connects = 0;
	CURLcode rc;
	dp_interruptible g;
	CURL *c = t->curl;

	luaL_argcheck(L, timeout < 0 || timeout <= SECONDS_MAX, 6, "out of range");
	luaL_argcheck(L, target[0] == '/', 3, "must start with '/'");
	url = lua_pushfstring(L, "%s%s", t->base, target);
	lua_pushfstring(L, "Content-Type: %s", content_type);

	/* Back to a plain GET, then only what this request needs. */
	curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (body || strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	/* No 100-continue round trip; a content type only with a body. */
	h = curl_slist_append(headers, "Expect:");
	if (h)
		headers = h;
	h = curl_slist_append(headers, body ? lua_tostring(L, -1) : "Content-Type:");
	if (!h) {
		curl_slist_free_all(headers);
		return luaL_error(L, "out of memory");
	}
	headers = h;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_URL, url);

	t->err[0] = '\0';
	buffer_reset(&t->head);
	buffer_reset(&t->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms >= 0 ? timeout_ms : t->timeout_ms);
	rc = perform(c, &g);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	t->connects += connects;
	if (rc != CURLE_OK) {
		int n = push_failure(L, t, rc);
		dp_interruptible_end(&g);
		return n;
	}
	dp_interruptible_end(&g);

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	lua_pushinteger(L, status);
	lua_pushlstring(L, t->body.data ? t->body.data : "", t->body.len);
	push_headers(L, &t->head);
	buffer_reset(&t->body);
	return 3;
}

/* t:connects() -> how many connections the transport has opened so far */
static int t_connects(lua_State *L)
{
	transport *t = dp_check_transport(L, 1);
	lua_pushinteger(L, t->connects);
	return 1;
}

static int t_tostring(lua_State *L)
{
	transport *t = luaL_checkudata(L, 1, TRANSPORT);
	lua_pushfstring(L, "dockerpty.Transport (%s%s)", t->endpoint ? t->endpoint : "?",
			t->curl ? "" : ", closed");
	return 1;
}

void dp_http_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"request", t_request},
		{"connects", t_connects},
		{"close", t_close},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__gc", t_gc},
		{"__close", t_close},
		{"__tostring", t_tostring},
		{NULL, NULL},
	};
	static int curl_ready;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			luaL_error(L, "cannot initialise libcurl");
		curl_ready = 1;
	}
	dp_new_class(L, TRANSPORT, meta, methods);

	lua_pushcfunction(L, t_new);
	lua_setfield(L, -2, "transport");
}
