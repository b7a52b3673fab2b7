/*
 * Helpers every area uses: a class's metatable, checked integer arguments, a wait on one
 * descriptor. auxiliar.c defines them; no area reaches another, or core.c, through them.
 */
#ifndef DOCKERPTY_AUXILIAR_H
#define DOCKERPTY_AUXILIAR_H

#include <limits.h>

#include "compat.h"

/* Registers the metatable NAME: the metamethods META (NULL for none), METHODS as __index. */
void dp_new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods);

/* Integer argument ARG in [lo, hi], else an error naming it: no silent narrowing to int. */
int dp_check_int(lua_State *L, int arg, lua_Integer lo, lua_Integer hi);
int dp_opt_int(lua_State *L, int arg, int dflt, lua_Integer lo, lua_Integer hi);
/* A timeout argument in milliseconds: -1 (the default) waits for ever. */
#define dp_opt_timeout_ms(L, arg) dp_opt_int((L), (arg), -1, -1, INT_MAX)

/* Waits for events on fd for up to timeout_ms (-1: no limit), through EINTR; poll's result. */
int dp_wait_fd(int fd, short events, int timeout_ms);

#endif
