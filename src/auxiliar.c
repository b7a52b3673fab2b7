/* The helpers every area uses (auxiliar.h): classes, checked integers, waiting on a descriptor. */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "auxiliar.h"

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

int dp_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p;
	struct timespec start, now;
	int r, left = timeout_ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, left);
		if (r >= 0 || errno != EINTR)
			return r;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left = timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 +
						  (now.tv_nsec - start.tv_nsec) / 1000000);
			if (left < 0)
				left = 0;
		}
	}
}
