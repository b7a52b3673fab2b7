/*
 * benchlib: what bench/bench.lua needs from the system and plain Lua lacks: a monotonic
 * clock, a child process with its stdout on a pipe (for first-byte timing) and its
 * resource usage when it is reaped.
 *
 *   now() -> seconds (CLOCK_MONOTONIC, ns resolution)
 *   spawn(argv, stdin_path|nil, stderr_path|nil) -> pid, fd    stdout is the pipe's read end
 *   read(fd, timeout_s) -> bytes | "" (nothing in time) | nil (end)
 *   close(fd)
 *   wait(pid, timeout_s) -> status, {user=s, sys=s, maxrss=KB} | nil (still running)
 *        status is the exit code, or 128 + signal
 *   kill(pid, signo)
 *   sleep(s)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int l_now(lua_State *L)
{
	lua_pushnumber(L, mono());
	return 1;
}

static int l_sleep(lua_State *L)
{
	double s = luaL_checknumber(L, 1);
	struct timespec ts;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

static int l_spawn(lua_State *L)
{
	int n, i, fds[2];
	char **argv;
	const char *in = luaL_optstring(L, 2, "/dev/null");
	const char *err = luaL_optstring(L, 3, NULL);
	pid_t pid;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = (int)lua_rawlen(L, 1);
	argv = lua_newuserdata(L, sizeof(char *) * (size_t)(n + 1));
	for (i = 0; i < n; i++) {
		lua_rawgeti(L, 1, i + 1);
		argv[i] = (char *)luaL_checkstring(L, -1);
		lua_pop(L, 1);
	}
	argv[n] = NULL;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return luaL_error(L, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return luaL_error(L, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(in, O_RDONLY);
		if (fd < 0)
			_exit(126);
		dup2(fd, 0);
		dup2(fds[1], 1);
		if (err) {
			int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (e >= 0)
				dup2(e, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	lua_pushinteger(L, pid);
	lua_pushinteger(L, fds[0]);
	return 2;
}

static int l_read(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	double t = luaL_optnumber(L, 2, -1);
	char buf[65536];
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t k;
	int r;

	do
		r = poll(&p, 1, t < 0 ? -1 : (int)(t * 1000));
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	do
		k = read(fd, buf, sizeof buf);
	while (k < 0 && errno == EINTR);
	if (k > 0)
		lua_pushlstring(L, buf, (size_t)k);
	else if (k < 0 && errno == EAGAIN)
		lua_pushliteral(L, "");
	else
		lua_pushnil(L);
	return 1;
}

static int l_close(lua_State *L)
{
	close((int)luaL_checkinteger(L, 1));
	return 0;
}

static int l_kill(lua_State *L)
{
	kill((pid_t)luaL_checkinteger(L, 1), (int)luaL_checkinteger(L, 2));
	return 0;
}

static int l_wait(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	double left = luaL_optnumber(L, 2, -1);
	int status;
	struct rusage ru;
	pid_t r;

	for (;;) {
		r = wait4(pid, &status, left < 0 ? 0 : WNOHANG, &ru);
		if (r == pid)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return luaL_error(L, "wait4: %s", strerror(errno));
		if (left <= 0) {
			lua_pushnil(L);
			return 1;
		}
		{
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
		}
		left -= 0.005;
	}
	lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	lua_createtable(L, 0, 3);
	lua_pushnumber(L, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6);
	lua_setfield(L, -2, "user");
	lua_pushnumber(L, (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	lua_setfield(L, -2, "sys");
	lua_pushinteger(L, ru.ru_maxrss);
	lua_setfield(L, -2, "maxrss");
	return 2;
}

int luaopen_benchlib(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"now", l_now},	  {"sleep", l_sleep}, {"spawn", l_spawn}, {"read", l_read},
		{"close", l_close}, {"kill", l_kill},   {"wait", l_wait},   {NULL, NULL},
	};
	luaL_newlib(L, funcs);
	return 1;
}
