/*
 * testpty: runs a program in a new pseudo-terminal for the specs, so they can type into it,
 * read what it prints, change its window size, signal it, and read the terminal's settings.
 * Also heap_in_use(), for specs that look for leaks.
 */
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"

#define PTY "testpty.Pty"

typedef struct {
	int master, slave; /* the slave stays open here too, to read its settings */
	pid_t pid;
	int status, reaped;
} pty;

static pty *check(lua_State *L)
{
	return luaL_checkudata(L, 1, PTY);
}

/* spawn(argv, rows, cols) -> pty */
static int l_spawn(lua_State *L)
{
	int n, i, rows = (int)luaL_optinteger(L, 2, 24), cols = (int)luaL_optinteger(L, 3, 80);
	char **argv;
	const char *name;
	struct winsize ws;
	pty *p;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = (int)lua_rawlen(L, 1);
	argv = lua_newuserdata(L, sizeof(char *) * (size_t)(n + 1));
	for (i = 0; i < n; i++) {
		lua_rawgeti(L, 1, i + 1);
		argv[i] = (char *)luaL_checkstring(L, -1);
		lua_pop(L, 1); /* still referenced by the table */
	}
	argv[n] = NULL;

	p = lua_newuserdata(L, sizeof *p);
	p->master = p->slave = -1;
	p->pid = -1;
	p->reaped = 0;
	luaL_setmetatable(L, PTY);
	p->master = posix_openpt(O_RDWR | O_NOCTTY);
	if (p->master < 0 || grantpt(p->master) || unlockpt(p->master) || !(name = ptsname(p->master)))
		return luaL_error(L, "openpt: %s", strerror(errno));
	p->slave = open(name, O_RDWR | O_NOCTTY);
	if (p->slave < 0)
		return luaL_error(L, "open %s: %s", name, strerror(errno));
	memset(&ws, 0, sizeof ws);
	ws.ws_row = (unsigned short)rows;
	ws.ws_col = (unsigned short)cols;
	ioctl(p->slave, TIOCSWINSZ, &ws);
	fcntl(p->master, F_SETFD, FD_CLOEXEC);
	fcntl(p->slave, F_SETFD, FD_CLOEXEC);
	p->pid = fork();
	if (p->pid < 0)
		return luaL_error(L, "fork: %s", strerror(errno));
	if (p->pid == 0) {
		int fd;
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		fd = open(name, O_RDWR);
		if (fd < 0)
			_exit(126);
		ioctl(fd, TIOCSCTTY, 0);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	fcntl(p->master, F_SETFL, fcntl(p->master, F_GETFL) | O_NONBLOCK);
	return 1;
}

/* p:read(timeout_s) -> bytes ("" when nothing came in time) | nil at the end */
static int p_read(lua_State *L)
{
	pty *p = check(L);
	int ms = (int)(luaL_optnumber(L, 2, 0) * 1000);
	char buf[65536];
	struct pollfd pf;
	ssize_t k;

	pf.fd = p->master;
	pf.events = POLLIN;
	if (poll(&pf, 1, ms) <= 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	k = read(p->master, buf, sizeof buf);
	if (k > 0) {
		lua_pushlstring(L, buf, (size_t)k);
	} else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
		lua_pushliteral(L, "");
	} else {
		lua_pushnil(L);
	}
	return 1;
}

static int p_write(lua_State *L)
{
	pty *p = check(L);
	size_t n, off = 0;
	const char *s = luaL_checklstring(L, 2, &n);
	while (off < n) {
		ssize_t k = write(p->master, s + off, n - off);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = {p->master, POLLOUT, 0};
			poll(&pf, 1, 1000);
			continue;
		}
		if (k < 0)
			return luaL_error(L, "write: %s", strerror(errno));
		off += (size_t)k;
	}
	return 0;
}

/* p:resize(rows, cols): the program gets SIGWINCH */
static int p_resize(lua_State *L)
{
	pty *p = check(L);
	struct winsize ws;
	memset(&ws, 0, sizeof ws);
	ws.ws_row = (unsigned short)luaL_checkinteger(L, 2);
	ws.ws_col = (unsigned short)luaL_checkinteger(L, 3);
	if (ioctl(p->master, TIOCSWINSZ, &ws) != 0)
		return luaL_error(L, "TIOCSWINSZ: %s", strerror(errno));
	return 0;
}

static int p_kill(lua_State *L)
{
	pty *p = check(L);
	kill(p->pid, (int)luaL_checkinteger(L, 2));
	return 0;
}

/* p:wait(timeout_s) -> "exit", code | "signal", signo | nil when still running */
static int p_wait(lua_State *L)
{
	pty *p = check(L);
	double left = luaL_optnumber(L, 2, 0);
	while (!p->reaped) {
		pid_t r = waitpid(p->pid, &p->status, WNOHANG);
		if (r == p->pid) {
			p->reaped = 1;
			break;
		}
		if (left <= 0) {
			lua_pushnil(L);
			return 1;
		}
		{
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
		left -= 0.01;
	}
	if (WIFEXITED(p->status)) {
		lua_pushliteral(L, "exit");
		lua_pushinteger(L, WEXITSTATUS(p->status));
	} else {
		lua_pushliteral(L, "signal");
		lua_pushinteger(L, WTERMSIG(p->status));
	}
	return 2;
}

/* p:settings() -> the terminal's settings as a string, to compare before and after */
static int p_settings(lua_State *L)
{
	pty *p = check(L);
	struct termios t;
	int fl;
	if (tcgetattr(p->slave, &t) != 0)
		return luaL_error(L, "tcgetattr: %s", strerror(errno));
	fl = fcntl(p->slave, F_GETFL);
	lua_pushfstring(L, "i=%d o=%d c=%d l=%d vmin=%d vtime=%d nonblock=%d", (int)t.c_iflag,
			(int)t.c_oflag, (int)t.c_cflag, (int)t.c_lflag, (int)t.c_cc[VMIN],
			(int)t.c_cc[VTIME], (fl & O_NONBLOCK) != 0);
	return 1;
}

static int p_pid(lua_State *L)
{
	lua_pushinteger(L, check(L)->pid);
	return 1;
}

static int p_close(lua_State *L)
{
	pty *p = check(L);
	if (p->pid > 0 && !p->reaped) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->reaped = 1;
	}
	if (p->master >= 0)
		close(p->master);
	if (p->slave >= 0)
		close(p->slave);
	p->master = p->slave = -1;
	return 0;
}

/* heap_in_use() -> bytes the process's malloc has handed out and not had back. Unlike the
 * resident size, it does not count what the allocator keeps after a free. */
static int l_heap_in_use(lua_State *L)
{
	struct mallinfo2 mi = mallinfo2();
	lua_pushnumber(L, (lua_Number)(mi.uordblks + mi.hblkhd));
	return 1;
}

int luaopen_testpty(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"read", p_read},     {"write", p_write}, {"resize", p_resize},
		{"kill", p_kill},     {"wait", p_wait},   {"settings", p_settings},
		{"pid", p_pid},       {"close", p_close}, {NULL, NULL},
	};
	luaL_newmetatable(L, PTY);
	lua_pushcfunction(L, p_close);
	lua_setfield(L, -2, "__gc");
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_newtable(L);
	lua_pushcfunction(L, l_spawn);
	lua_setfield(L, -2, "spawn");
	lua_pushcfunction(L, l_heap_in_use);
	lua_setfield(L, -2, "heap_in_use");
	return 1;
}
