/* JSON between Lua values and text through cJSON, with the null sentinel and array marker. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dockerpty.h"

#define NULL_KEY "dockerpty.null"
#define ARRAY_KEY "dockerpty.array"
#define BOX_NAME "dockerpty.JSONBox"

/* Owns what cJSON allocated while Lua may raise: freed by close or, on an error, by __gc. */
typedef struct {
	cJSON *tree;
	char *text;
} json_box;

static void box_free(json_box *b)
{
	cJSON_Delete(b->tree);
	b->tree = NULL;
	cJSON_free(b->text);
	b->text = NULL;
}

static int box_gc(lua_State *L)
{
	box_free(luaL_checkudata(L, 1, BOX_NAME));
	return 0;
}

static json_box *box_new(lua_State *L)
{
	json_box *b = lua_newuserdatauv(L, sizeof *b, 0);
	b->tree = NULL;
	b->text = NULL;
	luaL_setmetatable(L, BOX_NAME);
	return b;
}

static void push_null(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, NULL_KEY);
}

static int is_null(lua_State *L, int idx)
{
	int r;
	push_null(L);
	r = lua_rawequal(L, idx, -1);
	lua_pop(L, 1);
	return r;
}

/*
 * True when arrays and objects nest deeper than max anywhere in s; strings are skipped.
 * Pure, so it runs before cJSON and turns a hostile document into a clear error.
 */
int dp_json_too_deep(const char *s, size_t n, int max)
{
	int depth = 0, in_string = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 1;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 0;
}

static void push_number(lua_State *L, double d)
{
#if LUA_VERSION_NUM >= 503
	/* JSON has one number type; whole numbers that fit come back as integers. */
	if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
		lua_pushinteger(L, (lua_Integer)d);
		return;
	}
#endif
	lua_pushnumber(L, d);
}

static void push_json(lua_State *L, const cJSON *v, int depth)
{
	const cJSON *c;
	int i = 0;

	if (depth > DP_JSON_MAX_DEPTH)
		luaL_error(L, "JSON nested deeper than %d levels", DP_JSON_MAX_DEPTH);
	luaL_checkstack(L, 3, "JSON too deep");
	switch (v->type & 0xFF) {
	case cJSON_False: lua_pushboolean(L, 0); break;
	case cJSON_True: lua_pushboolean(L, 1); break;
	case cJSON_Number: push_number(L, v->valuedouble); break;
	case cJSON_String: lua_pushstring(L, v->valuestring); break;
	case cJSON_Array:
		lua_newtable(L);
		for (c = v->child; c; c = c->next) {
			push_json(L, c, depth + 1);
			lua_rawseti(L, -2, ++i);
		}
		lua_getfield(L, LUA_REGISTRYINDEX, ARRAY_KEY);
		lua_setmetatable(L, -2);
		break;
	case cJSON_Object:
		lua_newtable(L);
		for (c = v->child; c; c = c->next) {
			lua_pushstring(L, c->string);
			push_json(L, c, depth + 1);
			lua_rawset(L, -3);
		}
		break;
	default: push_null(L); break;
	}
}

/* Whether every number in the tree is finite: 1e999 parses, but as no number Lua or JSON can hold. */
static int numbers_finite(const cJSON *v)
{
	const cJSON *c;
	if (cJSON_IsNumber(v))
		return isfinite(v->valuedouble);
	for (c = v->child; c; c = c->next)
		if (!numbers_finite(c))
			return 0;
	return 1;
}

/* json_decode(text) -> value | nil, message */
static int l_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	const char *end = NULL;
	json_box *b;

	if (dp_json_too_deep(s, n, DP_JSON_MAX_DEPTH)) {
		lua_pushnil(L);
		lua_pushfstring(L, "invalid JSON: nested deeper than %d levels", DP_JSON_MAX_DEPTH);
		return 2;
	}
	b = box_new(L);
	b->tree = cJSON_ParseWithLengthOpts(s, n, &end, 0);
	if (b->tree)
		while (end < s + n && strchr(" \t\r\n", *end) && *end)
			end++;
	if (!b->tree || end != s + n) {
		size_t at = (b->tree ? end : cJSON_GetErrorPtr()) - s, rest = at;
		box_free(b);
		while (rest < n && strchr(" \t\r\n", s[rest]) && s[rest])
			rest++;
		lua_pushnil(L);
		if (rest >= n)
			lua_pushliteral(L, "invalid JSON: unexpected end of input");
		else
			lua_pushfstring(L, "invalid JSON at byte %d", (int)at + 1);
		return 2;
	}
	if (!numbers_finite(b->tree)) {
		box_free(b);
		lua_pushnil(L);
		lua_pushliteral(L, "invalid JSON: a number out of range");
		return 2;
	}
	push_json(L, b->tree, 1);
	box_free(b); /* now rather than at the next collection */
	return 1;
}

typedef struct {
	char err[128];
} encoder;

static cJSON *encode_fail(encoder *e, const char *what)
{
	if (!e->err[0])
		snprintf(e->err, sizeof e->err, "%s", what);
	return NULL;
}

static cJSON *encode(lua_State *L, int idx, int depth, encoder *e);

/* The shortest text that reads back as d: whole numbers without a fraction or an exponent. */
static const char *format_double(double d, char *buf, size_t n)
{
	int prec;
	if (d == floor(d) && fabs(d) < 1e17) {
		snprintf(buf, n, "%.0f", d);
		return buf;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return buf;
}

/* Adds table idx's fields to obj, an array or an object; 0 on failure, with e->err set. */
static int encode_fields(lua_State *L, int idx, int depth, cJSON *obj, int array, encoder *e)
{
	cJSON *item;
	int ok;

	if (array) {
		int i, n = (int)lua_rawlen(L, idx);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, i);
			item = encode(L, lua_gettop(L), depth + 1, e);
			lua_pop(L, 1);
			if (!item || !cJSON_AddItemToArray(obj, item)) {
				cJSON_Delete(item);
				encode_fail(e, "out of memory");
				return 0;
			}
		}
		return 1;
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		size_t kn;
		const char *k = lua_tolstring(L, -2, &kn); /* table_kind saw only string keys */
		if (strlen(k) != kn) {
			item = encode_fail(e, "object key with a NUL byte");
		} else {
			item = encode(L, lua_gettop(L), depth + 1, e);
		}
		ok = item && cJSON_AddItemToObject(obj, k, item);
		lua_pop(L, 1);
		if (!ok) {
			lua_pop(L, 1);
			cJSON_Delete(item);
			encode_fail(e, "out of memory");
			return 0;
		}
	}
	return 1;
}

/*
 * A table is an array when marked with the array metatable or when its keys are exactly
 * 1..n; string keys make an object; an empty unmarked table is an object, {}.
 */
static int table_kind(lua_State *L, int idx, encoder *e)
{
	size_t count = 0, strings = 0;
	lua_Number max = 0;

	if (lua_getmetatable(L, idx)) {
		int marked;
		lua_getfield(L, LUA_REGISTRYINDEX, ARRAY_KEY);
		marked = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
		if (marked)
			return 1;
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		count++;
		if (lua_type(L, -1) == LUA_TSTRING) {
			strings++;
		} else if (lua_type(L, -1) == LUA_TNUMBER) {
			lua_Number k = lua_tonumber(L, -1);
			if (k < 1 || k != floor(k)) {
				lua_pop(L, 1);
				return encode_fail(e, "table has a key that is not a string or a positive integer"), -1;
			}
			if (k > max)
				max = k;
		} else {
			lua_pop(L, 1);
			return encode_fail(e, "table has a key that is not a string or a positive integer"), -1;
		}
	}
	if (strings && strings != count)
		return encode_fail(e, "table mixes array items and object keys"), -1;
	if (!strings && count && max != (lua_Number)count)
		return encode_fail(e, "array has holes"), -1;
	return !strings && count;
}

static cJSON *encode(lua_State *L, int idx, int depth, encoder *e)
{
	switch (lua_type(L, idx)) {
	case LUA_TNIL: return cJSON_CreateNull();
	case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
	case LUA_TNUMBER: {
		char buf[40];
		double d;
#if LUA_VERSION_NUM >= 503
		/* Raw digits: integers past 2^53 survive, which a double would round. */
		if (lua_isinteger(L, idx)) {
			snprintf(buf, sizeof buf, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
			return cJSON_CreateRaw(buf);
		}
#endif
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			return encode_fail(e, "number is NaN or infinite");
		return cJSON_CreateRaw(format_double(d, buf, sizeof buf));
	}
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		if (strlen(s) != n)
			return encode_fail(e, "string with a NUL byte");
		return cJSON_CreateString(s);
	}
	case LUA_TTABLE: {
		int kind;
		cJSON *obj;
		if (depth > DP_JSON_MAX_DEPTH)
			return encode_fail(e, "nested too deep (or a table contains itself)");
		if (!lua_checkstack(L, 4))
			return encode_fail(e, "out of stack space");
		kind = table_kind(L, idx, e);
		if (kind < 0)
			return NULL;
		obj = kind ? cJSON_CreateArray() : cJSON_CreateObject();
		if (!obj)
			return encode_fail(e, "out of memory");
		if (!encode_fields(L, idx, depth, obj, kind, e)) {
			cJSON_Delete(obj);
			return NULL;
		}
		return obj;
	}
	case LUA_TUSERDATA:
	case LUA_TLIGHTUSERDATA:
		if (is_null(L, idx))
			return cJSON_CreateNull();
		/* fall through */
	default:
		snprintf(e->err, sizeof e->err, "cannot encode a %s", luaL_typename(L, idx));
		return NULL;
	}
}

/* json_encode(value) -> text; a value JSON cannot hold raises. */
static int l_encode(lua_State *L)
{
	encoder e = {{0}};
	json_box *b;

	lua_settop(L, 1);
	b = box_new(L);
	b->tree = encode(L, 1, 1, &e);
	if (!b->tree)
		return luaL_error(L, "cannot encode to JSON: %s", e.err[0] ? e.err : "out of memory");
	b->text = cJSON_PrintUnformatted(b->tree);
	if (!b->text)
		return luaL_error(L, "cannot encode to JSON: out of memory");
	lua_pushstring(L, b->text);
	box_free(b);
	return 1;
}

static int null_tostring(lua_State *L)
{
	lua_pushliteral(L, "dockerpty.null");
	return 1;
}

void dp_json_open(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"json_encode", l_encode},
		{"json_decode", l_decode},
		{NULL, NULL},
	};

	luaL_newmetatable(L, BOX_NAME);
	lua_pushcfunction(L, box_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);

	lua_newuserdatauv(L, 1, 0);
	lua_newtable(L);
	lua_pushcfunction(L, null_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "dockerpty.null");
	lua_setfield(L, -2, "__name");
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, NULL_KEY);
	lua_setfield(L, -2, "null");

	lua_newtable(L);
	lua_pushliteral(L, "dockerpty.array");
	lua_setfield(L, -2, "__name");
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, ARRAY_KEY);
	lua_setfield(L, -2, "array_mt");

	luaL_setfuncs(L, funcs, 0);
}
