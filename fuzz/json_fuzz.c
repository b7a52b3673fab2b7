/* libFuzzer target: JSON text to Lua values and back, in a real Lua state. */
#include <stdint.h>
#include <string.h>

#include "dockerpty.h"
#include <lualib.h>

int luaopen_dockerpty_core(lua_State *L);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	int top;

	if (!L) {
		L = luaL_newstate();
		luaL_openlibs(L);
		luaopen_dockerpty_core(L);
		lua_setglobal(L, "core");
	}
	top = lua_gettop(L);
	lua_getglobal(L, "core");
	lua_getfield(L, -1, "json_decode");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 2, 0) != 0)
		__builtin_trap(); /* decode reports, never raises */
	if (!lua_isnil(L, -2)) {
		/* whatever decodes encodes again (but a string with \u0000, which encode refuses), and decodes once more */
		lua_getfield(L, -3, "json_encode");
		lua_pushvalue(L, -3);
		if (lua_pcall(L, 1, 1, 0) != 0) {
			if (!strstr(lua_tostring(L, -1), "NUL byte"))
				__builtin_trap();
		} else {
			lua_getfield(L, -4, "json_decode");
			lua_insert(L, -2);
			lua_call(L, 1, 1);
			if (lua_isnil(L, -1))
				__builtin_trap();
		}
	} else if (!lua_isstring(L, -1)) {
		__builtin_trap();
	}
	lua_settop(L, top);
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
