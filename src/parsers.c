/* The Lua face of the pure parsers: demultiplexer, key specs and matcher, response heads;
 * and a digest the docker CLI names its context directories by. */
#include <string.h>

#include <openssl/evp.h>

#include "dockerpty.h"
#include "proto.h"

#define DEMUX "dockerpty.Demux"
#define MATCHER "dockerpty.Matcher"

/* demux() -> a demultiplexer; d:feed(bytes) -> {{type, data}...} | nil, message */
static int l_demux(lua_State *L)
{
	dp_demux *d = lua_newuserdatauv(L, sizeof *d, 0);
	dp_demux_init(d);
	luaL_setmetatable(L, DEMUX);
	return 1;
}

static int demux_feed(lua_State *L)
{
	dp_demux *d = luaL_checkudata(L, 1, DEMUX);
	size_t n, used = 0;
	const char *in = luaL_checklstring(L, 2, &n);
	int i = 0;

	lua_newtable(L);
	while (used < n) {
		const char *out;
		size_t out_len, k;
		int type;
		k = dp_demux_next(d, in + used, n - used, &out, &out_len, &type);
		if (k == (size_t)-1) {
			lua_pushnil(L);
			lua_pushliteral(L, "corrupt stream: a frame header names no stream");
			return 2;
		}
		used += k;
		if (out_len) {
			lua_createtable(L, 2, 0);
			lua_pushinteger(L, type);
			lua_rawseti(L, -2, 1);
			lua_pushlstring(L, out, out_len);
			lua_rawseti(L, -2, 2);
			lua_rawseti(L, -2, ++i);
		}
	}
	return 1;
}

/* parse_keys(spec) -> bytes | nil, message */
static int l_parse_keys(lua_State *L)
{
	size_t n;
	const char *spec = luaL_checklstring(L, 1, &n);
	unsigned char out[DP_KEYS_MAX];
	char bad[64];
	int len = dp_keys_parse(spec, n, out, bad, sizeof bad);

	if (len < 0) {
		lua_pushnil(L);
		lua_pushliteral(L, "invalid key spec \"");
		lua_pushvalue(L, 1);
		if (len == -2)
			lua_pushfstring(L, "\": more than %d keys", DP_KEYS_MAX);
		else if (bad[0] == '\0' && (n == 0 || spec[0] == ',' || strstr(spec, ",,") ||
					     spec[n - 1] == ','))
			lua_pushliteral(L, "\": an empty key");
		else
			lua_pushfstring(L, "\": unknown key \"%s\"", bad);
		lua_concat(L, 3);
		return 2;
	}
	lua_pushlstring(L, (const char *)out, (size_t)len);
	return 1;
}

/* matcher() -> m; m:add(bytes) -> index; m:feed(bytes) -> out, index|nil, consumed; m:flush() */
static int l_matcher(lua_State *L)
{
	dp_matcher *m = lua_newuserdatauv(L, sizeof *m, 0);
	dp_matcher_init(m);
	luaL_setmetatable(L, MATCHER);
	return 1;
}

static int matcher_add(lua_State *L)
{
	dp_matcher *m = luaL_checkudata(L, 1, MATCHER);
	size_t n;
	const char *seq = luaL_checklstring(L, 2, &n);
	int i;

	luaL_argcheck(L, n > 0 && n <= DP_KEYS_MAX, 2, "a key sequence of 1 to 32 bytes expected");
	i = dp_matcher_add(m, (const unsigned char *)seq, n);
	if (i < 0)
		return luaL_error(L, "too many key bindings (at most %d)", DP_BINDINGS_MAX);
	lua_pushinteger(L, i + 1);
	return 1;
}

static int matcher_feed(lua_State *L)
{
	dp_matcher *m = luaL_checkudata(L, 1, MATCHER);
	size_t n, used = 0;
	const char *in = luaL_checklstring(L, 2, &n);
	luaL_Buffer b;
	unsigned char out[1024 + DP_KEYS_MAX];
	int match = -1;

	/* In pieces, so the output fits a fixed buffer whatever the input's size. */
	luaL_buffinit(L, &b);
	while (used < n && match < 0) {
		size_t piece = n - used < 1024 ? n - used : 1024, out_len;
		used += dp_matcher_feed(m, (const unsigned char *)in + used, piece, out, &out_len, &match);
		luaL_addlstring(&b, (const char *)out, out_len);
	}
	luaL_pushresult(&b);
	if (match >= 0)
		lua_pushinteger(L, match + 1);
	else
		lua_pushnil(L);
	lua_pushinteger(L, (lua_Integer)used);
	return 3;
}

static int matcher_flush(lua_State *L)
{
	dp_matcher *m = luaL_checkudata(L, 1, MATCHER);
	unsigned char out[DP_KEYS_MAX];
	size_t n = dp_matcher_flush(m, out);
	lua_pushlstring(L, (const char *)out, n);
	return 1;
}

/* parse_head(bytes) -> length, status, {content_length=, content_type=, chunked=}
 *                     | 0 when incomplete | nil, message */
static int l_parse_head(lua_State *L)
{
	size_t n;
	const char *buf = luaL_checklstring(L, 1, &n);
	dp_head h;
	long len = dp_head_parse(buf, n, &h);

	if (len < 0) {
		lua_pushnil(L);
		lua_pushliteral(L, "not an HTTP response head");
		return 2;
	}
	lua_pushinteger(L, len);
	if (len == 0)
		return 1;
	lua_pushinteger(L, h.status);
	lua_createtable(L, 0, 3);
	if (h.content_length >= 0) {
		lua_pushinteger(L, (lua_Integer)h.content_length);
		lua_setfield(L, -2, "content_length");
	}
	lua_pushstring(L, h.content_type);
	lua_setfield(L, -2, "content_type");
	lua_pushboolean(L, h.chunked);
	lua_setfield(L, -2, "chunked");
	return 3;
}

/* cast_event(t, code, data, [carry]) -> line, carry: for the specs and the fuzzer's peers. */
static int l_cast_event(lua_State *L)
{
	double t = luaL_checknumber(L, 1);
	size_t clen, n, carry_len = 0;
	const char *code = luaL_checklstring(L, 2, &clen);
	const char *data = luaL_checklstring(L, 3, &n);
	const char *carry_in = luaL_optlstring(L, 4, "", &carry_len);
	unsigned char carry[4];
	char *out;
	size_t len;

	luaL_argcheck(L, clen == 1, 2, "one character expected");
	luaL_argcheck(L, carry_len <= 3, 4, "at most 3 bytes");
	luaL_argcheck(L, t >= 0 && t < 1e12, 1, "out of range");
	memcpy(carry, carry_in, carry_len);
	out = lua_newuserdata(L, DP_CAST_MAX(n)); /* the collector owns it */
	len = dp_cast_event(out, t, code[0], data, n, carry, &carry_len);
	lua_pushlstring(L, out, len);
	lua_pushlstring(L, (const char *)carry, carry_len);
	return 2;
}

/* sha256(bytes) -> the digest in lowercase hex: a docker context's directory name is its name's */
static int l_sha256(lua_State *L)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char out[2 * EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	size_t n, i;
	const char *in = luaL_checklstring(L, 1, &n);

	if (!EVP_Digest(in, n, md, &len, EVP_sha256(), NULL))
		return luaL_error(L, "sha256: the digest failed");
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	lua_pushlstring(L, out, 2 * (size_t)len);
	return 1;
}

void dp_parsers_open(lua_State *L)
{
	static const luaL_Reg demux_methods[] = {{"feed", demux_feed}, {NULL, NULL}};
	static const luaL_Reg matcher_methods[] = {
		{"add", matcher_add},
		{"feed", matcher_feed},
		{"flush", matcher_flush},
		{NULL, NULL},
	};
	static const luaL_Reg funcs[] = {
		{"demux", l_demux},
		{"parse_keys", l_parse_keys},
		{"matcher", l_matcher},
		{"parse_head", l_parse_head},
		{"cast_event", l_cast_event},
		{"sha256", l_sha256},
		{NULL, NULL},
	};

	dp_new_class(L, DEMUX, NULL, demux_methods);
	dp_new_class(L, MATCHER, NULL, matcher_methods);
	luaL_setfuncs(L, funcs, 0);
}
