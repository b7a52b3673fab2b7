/* Shims that let the core, written to the Lua 5.4 API, build against older Luas. */
#ifndef DOCKERPTY_COMPAT_H
#define DOCKERPTY_COMPAT_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#if LUA_VERSION_NUM < 502
#define lua_rawlen(L, i) lua_objlen((L), (i))
#define luaL_setfuncs(L, l, nup) luaL_register((L), NULL, (l))
#define luaL_setmetatable(L, name) (luaL_getmetatable((L), (name)), lua_setmetatable((L), -2))
#endif

#if LUA_VERSION_NUM < 503
#define lua_isinteger(L, i) 0
#endif

#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, sz, nuv) lua_newuserdata((L), (sz))
#endif

/* One Lua value attached to a userdata: a table, which every version accepts. */
#if LUA_VERSION_NUM >= 504
#define dp_setuservalue(L, i) lua_setiuservalue((L), (i), 1)
#define dp_getuservalue(L, i) lua_getiuservalue((L), (i), 1)
#elif LUA_VERSION_NUM >= 502
#define dp_setuservalue(L, i) lua_setuservalue((L), (i))
#define dp_getuservalue(L, i) lua_getuservalue((L), (i))
#else
#define dp_setuservalue(L, i) lua_setfenv((L), (i))
#define dp_getuservalue(L, i) lua_getfenv((L), (i))
#endif

#endif
