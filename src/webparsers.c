/* The Lua face of the gateway's pure parts: request heads, request paths, the WebSocket handshake. */
#include <string.h>

#include "areas.h"
#include "auxiliar.h"
#include "proto.h"

#define REQUEST_PARSER "dockerpty.RequestParser"
#define FIELDS_MAX 256
#define HEAD_DEFAULT 8192
#define FIELDS_DEFAULT 64

typedef struct {
	dp_request r;
	dp_req_field fields[FIELDS_MAX];
} parser;

static lua_Integer opt_field(lua_State *L, int idx, const char *name, lua_Integer dflt,
			     lua_Integer lo, lua_Integer hi)
{
	lua_Integer v = dflt;
	lua_getfield(L, idx, name);
	if (!lua_isnil(L, -1)) {
		v = luaL_checkinteger(L, -1);
		if (v < lo || v > hi)
			luaL_error(L, "%s out of range", name);
	}
	lua_pop(L, 1);
	return v;
}

/* {max_head = 8192, max_target = max_head, max_fields = 64} at idx, or none */
static void init_request(lua_State *L, int idx, dp_request *r, dp_req_field *fields)
{
	size_t head = HEAD_DEFAULT, target, nfields = FIELDS_DEFAULT;
	if (lua_isnoneornil(L, idx)) {
		target = head;
	} else {
		luaL_checktype(L, idx, LUA_TTABLE);
		head = (size_t)opt_field(L, idx, "max_head", HEAD_DEFAULT, 1, 1 << 20);
		target = (size_t)opt_field(L, idx, "max_target", (lua_Integer)head, 1, 1 << 20);
		nfields = (size_t)opt_field(L, idx, "max_fields", FIELDS_DEFAULT, 0, FIELDS_MAX);
	}
	dp_request_init(r, head, target, fields, nfields);
}

/* The parse's outcome: the request as a table, false for more, or nil, reason, status. */
static int push_request(lua_State *L, int rc, const dp_request *r, const char *buf)
{
	size_t i;
	if (rc == DP_REQ_MORE) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (rc == DP_REQ_ERROR) {
		lua_pushnil(L);
		lua_pushstring(L, r->reason);
		lua_pushinteger(L, r->status);
		return 3;
	}
	lua_createtable(L, 0, 7);
	lua_pushinteger(L, (lua_Integer)r->length);
	lua_setfield(L, -2, "length");
	lua_pushlstring(L, buf, r->method_len);
	lua_setfield(L, -2, "method");
	lua_pushlstring(L, buf + r->target, r->target_len);
	lua_setfield(L, -2, "target");
	lua_pushstring(L, r->minor ? "1.1" : "1.0");
	lua_setfield(L, -2, "version");
	if (r->content_length >= 0) {
		lua_pushinteger(L, (lua_Integer)r->content_length);
		lua_setfield(L, -2, "content_length");
	}
	lua_pushboolean(L, r->chunked);
	lua_setfield(L, -2, "chunked");
	lua_createtable(L, (int)r->nfields, 0);
	for (i = 0; i < r->nfields; i++) {
		const dp_req_field *f = &r->fields[i];
		lua_createtable(L, 2, 0);
		lua_pushlstring(L, buf + f->name, f->name_len);
		lua_rawseti(L, -2, 1);
		lua_pushlstring(L, buf + f->value, f->value_len);
		lua_rawseti(L, -2, 2);
		lua_rawseti(L, -2, (int)i + 1);
	}
	lua_setfield(L, -2, "headers");
	return 1;
}

/* parse_request(bytes[, opts]) -> {length, method, target, version, headers = {{name, value}...},
 *                                  content_length, chunked} | false for more | nil, reason, status */
static int l_parse_request(lua_State *L)
{
	size_t n;
	const char *buf = luaL_checklstring(L, 1, &n);
	parser *p;
	lua_settop(L, 2);
	p = lua_newuserdatauv(L, sizeof *p, 0);
	init_request(L, 2, &p->r, p->fields);
	return push_request(L, dp_request_parse(&p->r, buf, n), &p->r, buf);
}

/* request_parser([opts]) -> p; p:feed(bytes) -> what parse_request gives for every byte so far */
static int l_request_parser(lua_State *L)
{
	parser *p;
	lua_settop(L, 1);
	p = lua_newuserdatauv(L, sizeof *p, 1);
	init_request(L, 1, &p->r, p->fields);
	luaL_setmetatable(L, REQUEST_PARSER);
	lua_createtable(L, 1, 0);
	lua_pushliteral(L, "");
	lua_rawseti(L, -2, 1);
	dp_setuservalue(L, -2);
	return 1;
}

static int parser_feed(lua_State *L)
{
	parser *p = luaL_checkudata(L, 1, REQUEST_PARSER);
	size_t n;
	const char *buf;

	luaL_checkstring(L, 2);
	dp_getuservalue(L, 1);
	lua_rawgeti(L, -1, 1);
	lua_pushvalue(L, 2);
	lua_concat(L, 2);
	lua_pushvalue(L, -1);
	lua_rawseti(L, -3, 1);
	buf = lua_tolstring(L, -1, &n); /* held by the uservalue table while parsed */
	return push_request(L, dp_request_parse(&p->r, buf, n), &p->r, buf);
}

/* clean_path(target) -> the decoded, normalised path | nil, reason */
static int l_clean_path(lua_State *L)
{
	size_t n, len;
	const char *t = luaL_checklstring(L, 1, &n), *why;
	char *out = lua_newuserdatauv(L, n + 1, 0);
	if (dp_path_clean(t, n, out, n + 1, &len, &why) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, why);
		return 2;
	}
	lua_pushlstring(L, out, len);
	return 1;
}

/* ws_accept(key) -> Sec-WebSocket-Accept's value for key */
static int l_ws_accept(lua_State *L)
{
	size_t n;
	const char *key = luaL_checklstring(L, 1, &n);
	char out[DP_WS_ACCEPT_LEN + 1];
	if (dp_ws_accept(key, n, out) < 0)
		return luaL_error(L, "ws_accept: SHA-1 failed");
	lua_pushstring(L, out);
	return 1;
}

/* ws_upgrade(head[, opts]) -> {accept, protocols = {...}} | false for more | nil, reason, status */
static int l_ws_upgrade(lua_State *L)
{
	size_t n, i;
	const char *buf = luaL_checklstring(L, 1, &n);
	parser *p;
	dp_ws_upgrade u;
	int rc;

	lua_settop(L, 2);
	p = lua_newuserdatauv(L, sizeof *p, 0);
	init_request(L, 2, &p->r, p->fields);
	rc = dp_request_parse(&p->r, buf, n);
	if (rc != DP_REQ_DONE)
		return push_request(L, rc, &p->r, buf);
	if (dp_ws_server_check(&p->r, buf, &u) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, u.reason);
		lua_pushinteger(L, u.status);
		return 3;
	}
	lua_createtable(L, 0, 2);
	lua_pushstring(L, u.accept);
	lua_setfield(L, -2, "accept");
	lua_createtable(L, (int)u.nprotocols, 0);
	for (i = 0; i < u.nprotocols; i++) {
		lua_pushlstring(L, buf + u.protocols[i].off, u.protocols[i].len);
		lua_rawseti(L, -2, (int)i + 1);
	}
	lua_setfield(L, -2, "protocols");
	return 1;
}

/* ws_client_key() -> a fresh Sec-WebSocket-Key | nil, message */
static int l_ws_client_key(lua_State *L)
{
	char key[DP_WS_KEY_LEN + 1];
	if (dp_ws_client_key(key) < 0) {
		lua_pushnil(L);
		lua_pushliteral(L, "cannot make a WebSocket key: the random generator failed");
		return 2;
	}
	lua_pushstring(L, key);
	return 1;
}

/* ws_client_check(key, accept) -> whether the server's Sec-WebSocket-Accept answers key */
static int l_ws_client_check(lua_State *L)
{
	size_t n;
	const char *key = luaL_checkstring(L, 1), *accept = luaL_checklstring(L, 2, &n);
	lua_pushboolean(L, dp_ws_client_check(key, accept, n));
	return 1;
}

/* ws_client_verify(head, key[, offered]) -> true, the chosen subprotocol | nil, reason */
static int l_ws_client_verify(lua_State *L)
{
	size_t n;
	const char *head = luaL_checklstring(L, 1, &n), *key = luaL_checkstring(L, 2);
	const char *offered = luaL_optstring(L, 3, NULL), *why;
	dp_span p;

	if (dp_ws_client_verify(head, n, key, offered, &p, &why) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, why);
		return 2;
	}
	lua_pushboolean(L, 1);
	if (p.len == 0)
		return 1;
	lua_pushlstring(L, head + p.off, p.len);
	return 2;
}

void dp_webparsers_open(lua_State *L)
{
	static const luaL_Reg parser_methods[] = {{"feed", parser_feed}, {NULL, NULL}};
	static const luaL_Reg funcs[] = {
		{"parse_request", l_parse_request},
		{"request_parser", l_request_parser},
		{"clean_path", l_clean_path},
		{"ws_accept", l_ws_accept},
		{"ws_upgrade", l_ws_upgrade},
		{"ws_client_key", l_ws_client_key},
		{"ws_client_check", l_ws_client_check},
		{"ws_client_verify", l_ws_client_verify},
		{NULL, NULL},
	};

	dp_new_class(L, REQUEST_PARSER, NULL, parser_methods);
	luaL_setfuncs(L, funcs, 0);
}
