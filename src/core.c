/* dockerpty.core: the C half of dockerpty; one open function per area fills the module. */
#include "dockerpty.h"

void dp_new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods)
{
	luaL_newmetatable(L, name);
	if (meta)
		luaL_setfuncs(L, meta, 0);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

int dp_check_int(lua_State *L, int arg, lua_Integer lo, lua_Integer hi)
{
	lua_Integer n = luaL_checkinteger(L, arg);
	luaL_argcheck(L, n >= lo && n <= hi, arg, "out of range");
	return (int)n;
}

int dp_opt_int(lua_State *L, int arg, int dflt, lua_Integer lo, lua_Integer hi)
{
	return lua_isnoneornil(L, arg) ? dflt : dp_check_int(L, arg, lo, hi);
}

int luaopen_dockerpty_core(lua_State *L)
{
	dp_std_fds_guard(); /* before anything opens a socket */
	lua_newtable(L);
	dp_json_open(L);
	dp_http_open(L);
	dp_parsers_open(L);
	dp_stream_open(L);
	dp_term_open(L);
	dp_pump_open(L);
	lua_pushliteral(L, DP_VERSION);
	lua_setfield(L, -2, "_VERSION");
	return 1;
}
