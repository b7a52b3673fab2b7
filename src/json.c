/* JSON between Lua values and text, with the null sentinel and array marker: decoded straight
 * into Lua values within a memory budget, encoded through cJSON. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dockerpty.h"

#define NULL_KEY "dockerpty.null"
#define ARRAY_KEY "dockerpty.array"
#define BOX_NAME "dockerpty.JSONBox"

/* Owns what cJSON allocated while encoding, as Lua may raise: freed by close or, on an error, by __gc. */
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
 * Pure, so it runs before the decoder and turns a hostile document into a clear error.
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

/*
 * The decoder builds Lua values straight from the text, with no tree in between, and
 * watches Lua's heap as it goes: the values of a document may take at most
 * DECODE_FACTOR times its length (and DECODE_FLOOR in any case), so that a cap on an
 * answer's size is a cap on the memory it costs. Docker's own answers take about 3 times
 * their text; [0,0,...] or [{},{},...] would take 8 to 20 times.
 */
#define DECODE_FACTOR 6
#define DECODE_FLOOR ((size_t)16 << 20)
#define DECODE_CHECK_EVERY 256

typedef struct {
	lua_State *L;
	const char *s, *p, *end;
	const char *bad; /* where the text went wrong, or NULL */
	const char *why; /* the message for bad, or NULL for "at byte N" */
	char msg[80];
	size_t heap0_kb, budget_kb;
	unsigned values;
} reader;

static int fail(reader *r, const char *at, const char *why)
{
	if (!r->bad) {
		r->bad = at;
		r->why = why;
	}
	return 0;
}

static size_t heap_kb(lua_State *L)
{
	return (size_t)lua_gc(L, LUA_GCCOUNT, 0);
}

/* Whether the values so far still fit in the budget; looked at every few values, as it costs a call. */
static int within_budget(reader *r)
{
	size_t now;
	if (++r->values % DECODE_CHECK_EVERY)
		return 1;
	now = heap_kb(r->L);
	if (now <= r->heap0_kb || now - r->heap0_kb <= r->budget_kb)
		return 1;
	snprintf(r->msg, sizeof r->msg, "JSON too large: its values would take more than %zu MiB",
		 r->budget_kb / 1024);
	return fail(r, r->p, r->msg);
}

static void skip_space(reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;
	for (i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return 0;
	}
	*out = v;
	return 1;
}

static void add_utf8(luaL_Buffer *b, unsigned cp)
{
	if (cp < 0x80) {
		luaL_addchar(b, (char)cp);
	} else if (cp < 0x800) {
		luaL_addchar(b, (char)(0xC0 | (cp >> 6)));
		luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		luaL_addchar(b, (char)(0xE0 | (cp >> 12)));
		luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
	} else {
		luaL_addchar(b, (char)(0xF0 | (cp >> 18)));
		luaL_addchar(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
		luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
	}
}

/* A string at r->p (its opening quote) pushed as a Lua string; bytes are kept as they are, \u0000 too. */
static int read_string(reader *r)
{
	const char *p = r->p + 1, *start = p;
	luaL_Buffer b;

	/* most strings have no escape: one copy, straight from the text */
	while (p < r->end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
		p++;
	if (p < r->end && *p == '"') {
		lua_pushlstring(r->L, start, (size_t)(p - start));
		r->p = p + 1;
		return 1;
	}
	luaL_buffinit(r->L, &b);
	luaL_addlstring(&b, start, (size_t)(p - start));
	while (p < r->end && *p != '"') {
		unsigned cp, lo;
		if ((unsigned char)*p < 0x20)
			return fail(r, p, NULL); /* control characters must be escaped */
		if (*p != '\\') {
			const char *run = p;
			while (p < r->end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
				p++;
			luaL_addlstring(&b, run, (size_t)(p - run));
			continue;
		}
		if (r->end - p < 2)
			return fail(r, r->end, NULL);
		switch (p[1]) {
		case '"': luaL_addchar(&b, '"'); break;
		case '\\': luaL_addchar(&b, '\\'); break;
		case '/': luaL_addchar(&b, '/'); break;
		case 'b': luaL_addchar(&b, '\b'); break;
		case 'f': luaL_addchar(&b, '\f'); break;
		case 'n': luaL_addchar(&b, '\n'); break;
		case 'r': luaL_addchar(&b, '\r'); break;
		case 't': luaL_addchar(&b, '\t'); break;
		case 'u':
			if (r->end - p < 6 || !hex4(p + 2, &cp))
				return fail(r, p, NULL);
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return fail(r, p, NULL); /* a low surrogate alone */
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (r->end - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return fail(r, p, NULL);
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			}
			add_utf8(&b, cp);
			p += 4;
			break;
		default: return fail(r, p, NULL);
		}
		p += 2;
	}
	if (p >= r->end)
		return fail(r, r->end, NULL);
	luaL_pushresult(&b);
	r->p = p + 1;
	return 1;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number, as RFC 8259 writes them; on 5.4 whole numbers that fit come back as integers. */
static int read_number(reader *r)
{
	const char *p = r->p, *start = p;
	int whole = 1;
	double d;

	if (p < r->end && *p == '-')
		p++;
	if (p < r->end && *p == '0')
		p++;
	else if (p < r->end && is_digit(*p))
		while (p < r->end && is_digit(*p))
			p++;
	else
		return fail(r, p, NULL);
	if (p < r->end && *p == '.') {
		whole = 0;
		if (++p >= r->end || !is_digit(*p))
			return fail(r, p, NULL);
		while (p < r->end && is_digit(*p))
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		whole = 0;
		if (++p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || !is_digit(*p))
			return fail(r, p, NULL);
		while (p < r->end && is_digit(*p))
			p++;
	}
	r->p = p;
#if LUA_VERSION_NUM >= 503
	/* digits alone, up to 18 of them: exact, where a double would round past 2^53 */
	if (whole && p - start - (*start == '-') <= 18) {
		const char *q = start + (*start == '-');
		lua_Integer v = 0;
		for (; q < p; q++)
			v = v * 10 + (*q - '0');
		lua_pushinteger(r->L, *start == '-' ? -v : v);
		return 1;
	}
#else
	(void)whole;
#endif
	{
		/* strtod wants the token alone, with the locale's decimal point */
		char buf[64], *text = buf, *dot;
		size_t n = (size_t)(p - start);
		if (n >= sizeof buf && !(text = malloc(n + 1)))
			return fail(r, start, "invalid JSON: out of memory");
		memcpy(text, start, n);
		text[n] = '\0';
		if ((dot = strchr(text, '.')))
			*dot = localeconv()->decimal_point[0];
		d = strtod(text, NULL);
		if (text != buf)
			free(text);
	}
	if (!isfinite(d))
		return fail(r, start, "invalid JSON: a number out of range");
	push_number(r->L, d);
	return 1;
}

static int read_value(reader *r, int depth);

static int read_array(reader *r, int depth)
{
	lua_Integer i = 0;

	r->p++;
	lua_newtable(r->L);
	lua_getfield(r->L, LUA_REGISTRYINDEX, ARRAY_KEY);
	lua_setmetatable(r->L, -2);
	skip_space(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return 1;
	}
	for (;;) {
		if (!read_value(r, depth + 1))
			return 0;
		lua_rawseti(r->L, -2, ++i);
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			return 1;
		}
		return fail(r, r->p, NULL);
	}
}

static int read_object(reader *r, int depth)
{
	r->p++;
	lua_newtable(r->L);
	skip_space(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return 1;
	}
	for (;;) {
		if (r->p >= r->end || *r->p != '"')
			return fail(r, r->p, NULL);
		if (!read_string(r))
			return 0;
		skip_space(r);
		if (r->p >= r->end || *r->p != ':')
			return fail(r, r->p, NULL);
		r->p++;
		if (!read_value(r, depth + 1))
			return 0;
		lua_rawset(r->L, -3); /* a repeated key: the last one stands */
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			skip_space(r);
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			return 1;
		}
		return fail(r, r->p, NULL);
	}
}

static int read_word(reader *r, const char *word, size_t n)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, r->p, NULL);
	r->p += n;
	return 1;
}

/* One value pushed on the stack, or 0 with r->bad set; whatever it left on the stack is dropped by the caller. */
static int read_value(reader *r, int depth)
{
	if (depth > DP_JSON_MAX_DEPTH)
		return fail(r, r->p, "invalid JSON: nested deeper than 200 levels");
	luaL_checkstack(r->L, 4, "JSON too deep");
	if (!within_budget(r))
		return 0;
	skip_space(r);
	if (r->p >= r->end)
		return fail(r, r->p, NULL);
	switch (*r->p) {
	case '{': return read_object(r, depth);
	case '[': return read_array(r, depth);
	case '"': return read_string(r);
	case 't': return read_word(r, "true", 4) && (lua_pushboolean(r->L, 1), 1);
	case 'f': return read_word(r, "false", 5) && (lua_pushboolean(r->L, 0), 1);
	case 'n': return read_word(r, "null", 4) && (push_null(r->L), 1);
	default: return read_number(r);
	}
}

/* json_decode(text) -> value | nil, message */
static int l_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	reader r;
	size_t budget;

	lua_settop(L, 1);
	if (dp_json_too_deep(s, n, DP_JSON_MAX_DEPTH)) {
		lua_pushnil(L);
		lua_pushfstring(L, "invalid JSON: nested deeper than %d levels", DP_JSON_MAX_DEPTH);
		return 2;
	}
	budget = n > DECODE_FLOOR / DECODE_FACTOR ? n * DECODE_FACTOR : DECODE_FLOOR;
	r.L = L;
	r.s = r.p = s;
	r.end = s + n;
	r.bad = r.why = NULL;
	r.heap0_kb = heap_kb(L);
	r.budget_kb = budget / 1024;
	r.values = 0;
	if (read_value(&r, 1)) {
		skip_space(&r);
		if (r.p == r.end)
			return 1;
		fail(&r, r.p, NULL);
	}
	lua_settop(L, 1);
	lua_pushnil(L);
	if (r.why) {
		lua_pushstring(L, r.why);
	} else {
		const char *rest = r.bad;
		while (rest < r.end && (*rest == ' ' || *rest == '\t' || *rest == '\n' || *rest == '\r'))
			rest++;
		if (rest >= r.end) {
			lua_pushliteral(L, "invalid JSON: unexpected end of input");
		} else {
			char msg[64];
			snprintf(msg, sizeof msg, "invalid JSON at byte %zu", (size_t)(r.bad - s) + 1);
			lua_pushstring(L, msg);
		}
	}
	return 2;
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
