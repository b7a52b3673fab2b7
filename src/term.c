/*
 * The host terminal and the process around it: raw mode with guaranteed restore, window
 * size, and signals turned into bytes on a self-pipe that the pump watches.
 */
/* for SA_ONSTACK and sigaltstack, which are XSI's */
#define _XOPEN_SOURCE 700 /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "dockerpty.h"

#define TERM_MODE "dockerpty.TermMode"

typedef struct {
	int fd; /* -1 once restored */
	struct termios saved, raw;
} term_mode;

/* One terminal in raw mode per process, restored by the handlers of fatal signals too. */
static volatile sig_atomic_t raw_fd = -1;
static struct termios raw_saved;

static int sig_pipe[2] = {-1, -1};
static const int caught[] = {SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
			     SIGUSR1,  SIGUSR2, SIGALRM, SIGTSTP, SIGCONT};
#define NCAUGHT (sizeof caught / sizeof caught[0])
/* A crash gives the terminal back too, then goes on as it would have. */
static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NFATAL (sizeof fatal / sizeof fatal[0])
static struct sigaction old_actions[NCAUGHT], old_fatal[NFATAL], old_pipe_action;
static int signals_on;
static volatile sig_atomic_t resumes; /* SIGCONTs caught: whether a stop was resumed */
/* where the crash handler runs when the stack itself overflowed, unless the process has one */
static char alt_stack[64 * 1024];

/* Signals that would end the process, counted as they come (dp_interrupted). */
static volatile sig_atomic_t interrupts;
/* Outside a session, the signals an interruptible call catches for its while. */
static const int guarded[] = {SIGINT, SIGTERM, SIGHUP};
#define NGUARDED (sizeof guarded / sizeof guarded[0])
static struct sigaction guard_old[NGUARDED];
static volatile sig_atomic_t guard_caught; /* the first one caught meanwhile, or 0 */
static int guard_depth;

int dp_signal_fd(void)
{
	return signals_on ? sig_pipe[0] : -1;
}

static int ends_process(int sig)
{
	return sig != SIGWINCH && sig != SIGCONT && sig != SIGTSTP;
}

static void on_guarded(int sig)
{
	if (!guard_caught)
		guard_caught = sig;
	interrupts++;
}

void dp_interruptible_begin(dp_interruptible *g)
{
	g->seen = interrupts;
	g->guarded = 0;
	if (signals_on)
		return; /* the session's handlers count them, and the pump acts on them */
	if (guard_depth++ == 0) {
		struct sigaction sa;
		size_t i;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_guarded;
		sigemptyset(&sa.sa_mask);
		guard_caught = 0;
		for (i = 0; i < NGUARDED; i++) {
			sigaction(guarded[i], NULL, &guard_old[i]);
			if (guard_old[i].sa_handler != SIG_IGN) /* nohup's stays ignored */
				sigaction(guarded[i], &sa, NULL);
		}
	}
	g->guarded = 1;
}

long dp_interrupt_count(void)
{
	return interrupts;
}

int dp_interrupted(const dp_interruptible *g)
{
	return interrupts != g->seen;
}

void dp_interruptible_end(dp_interruptible *g)
{
	if (!g->guarded)
		return;
	g->guarded = 0;
	if (--guard_depth == 0) {
		size_t i;
		int sig;
		for (i = 0; i < NGUARDED; i++)
			sigaction(guarded[i], &guard_old[i], NULL);
		sig = guard_caught;
		guard_caught = 0;
		if (sig)
			raise(sig); /* what it would have done, now that the call has given up */
	}
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	if (ends_process(sig))
		interrupts++;
	if (sig == SIGCONT)
		resumes++;
	/* a resize and a resume leave the terminal as it is: Lua takes it from there */
	if (sig != SIGWINCH && sig != SIGCONT && raw_fd >= 0)
		tcsetattr(raw_fd, TCSANOW, &raw_saved); /* async-signal-safe */
	if (write(sig_pipe[1], &b, 1) < 0) {
		/* full: the pump has enough to wake for */
	}
	errno = saved;
}

/*
 * A crash: the terminal gets its settings back and the signal its earlier disposition.
 * A fault the kernel raised comes again as the handler returns; one sent by kill() or
 * raise() (abort() among them) is raised again, to be delivered as the handler returns.
 */
static void on_fatal(int sig, siginfo_t *info, void *uctx)
{
	size_t i;
	(void)uctx;
	if (raw_fd >= 0)
		tcsetattr(raw_fd, TCSANOW, &raw_saved);
	for (i = 0; i < NFATAL; i++)
		if (fatal[i] == sig)
			sigaction(sig, &old_fatal[i], NULL);
	if (info->si_code <= 0)
		raise(sig);
}

/*
 * A closed 0, 1 or 2 is the number the next socket gets, and the container's output would
 * go into it. Each closed one gets /dev/null, read-only: stdin reads end of file, and
 * writing to stdout or stderr fails with EBADF, as it does on the closed descriptor.
 */
void dp_std_fds_guard(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0 && nul != fd) {
			dup2(nul, fd);
			close(nul);
		}
	}
}

static int set_cloexec_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0
		       ? -1
		       : 0;
}

/* signals(true): SIGWINCH, the signals that would end the process (SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM), and those that stop and resume it (SIGTSTP, SIGCONT)
 * go to the pump; SIGPIPE is ignored; a crash restores the terminal. signals(false) puts back
 * what was there. Returns the self-pipe's read end (-1 when off), and whether they were on
 * before. */
static int l_signals(lua_State *L)
{
	int on = lua_toboolean(L, 1), was_on = signals_on;
	size_t i;

	if (on && !signals_on) {
		struct sigaction sa;
		if (sig_pipe[0] < 0) {
			if (pipe(sig_pipe) != 0 || set_cloexec_nonblock(sig_pipe[0]) ||
			    set_cloexec_nonblock(sig_pipe[1]))
				return luaL_error(L, "cannot create the signal pipe: %s", strerror(errno));
		}
		stack_t ss;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		for (i = 0; i < NCAUGHT; i++) {
			sigaction(caught[i], NULL, &old_actions[i]);
			/* one ignored from the start (nohup, trap '' TSTP) stays ignored */
			if (old_actions[i].sa_handler != SIG_IGN || caught[i] == SIGWINCH)
				sigaction(caught[i], &sa, NULL);
		}
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, &old_pipe_action);
		if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE)) {
			ss.ss_sp = alt_stack;
			ss.ss_size = sizeof alt_stack;
			ss.ss_flags = 0;
			sigaltstack(&ss, NULL);
		}
		sa.sa_handler = NULL;
		sa.sa_sigaction = on_fatal;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		for (i = 0; i < NFATAL; i++)
			sigaction(fatal[i], &sa, &old_fatal[i]);
		signals_on = 1;
	} else if (!on && signals_on) {
		for (i = 0; i < NCAUGHT; i++)
			sigaction(caught[i], &old_actions[i], NULL);
		for (i = 0; i < NFATAL; i++)
			sigaction(fatal[i], &old_fatal[i], NULL);
		sigaction(SIGPIPE, &old_pipe_action, NULL);
		signals_on = 0;
	}
	lua_pushinteger(L, dp_signal_fd());
	lua_pushboolean(L, was_on);
	return 2;
}

/* pending_signals() -> {signo...}: drains the self-pipe, each number once, in arrival order */
static int l_pending_signals(lua_State *L)
{
	unsigned char buf[64];
	int seen[65] = {0}, n = 0;
	ssize_t k;

	lua_newtable(L);
	if (sig_pipe[0] < 0)
		return 1;
	while ((k = read(sig_pipe[0], buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR)) {
		ssize_t i;
		for (i = 0; i < k; i++) {
			if (buf[i] < 65 && !seen[buf[i]]) {
				seen[buf[i]] = 1;
				lua_pushinteger(L, buf[i]);
				lua_rawseti(L, -2, ++n);
			}
		}
	}
	return 1;
}

/* raise(signo): the signal's earlier disposition back, then the signal itself. */
static int l_raise(lua_State *L)
{
	int sig = dp_check_int(L, 1, 1, 64);
	size_t i;
	for (i = 0; i < NCAUGHT; i++)
		if (signals_on && caught[i] == sig)
			sigaction(sig, &old_actions[i], NULL);
	raise(sig);
	return 0;
}

/*
 * kill(pid, signo [, group]) -> true | nil, message: signo to the process, or with group to
 * the process group it leads when it leads one (a terminal's hangup reaches the whole
 * foreground job). A process that is gone already is not an error: false.
 */
static int l_kill(lua_State *L)
{
	lua_Integer pid = luaL_checkinteger(L, 1);
	int sig = dp_check_int(L, 2, 0, 64);
	int group = lua_toboolean(L, 3);
	pid_t target;
	luaL_argcheck(L, pid > 1 && pid <= INT_MAX, 1, "a process id above 1 expected");
	target = (pid_t)pid;
	if (group && getpgid(target) == target)
		target = -target;
	if (kill(target, sig) == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	if (errno == ESRCH) {
		lua_pushboolean(L, 0);
		return 1;
	}
	lua_pushnil(L);
	lua_pushfstring(L, "cannot signal process %d: %s", (int)pid, strerror(errno));
	return 2;
}

/* default_signal(signo): the signal's default action from now on, as a program that never
 * set one has it (a command-line tool dies by SIGINT where Lua's interpreter would raise). */
static int l_default_signal(lua_State *L)
{
	int sig = dp_check_int(L, 1, 1, 64);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		return luaL_error(L, "default_signal(%d): %s", sig, strerror(errno));
	return 0;
}

/*
 * suspend() -> resumed: stops the process as SIGTSTP would have, and returns once it is
 * resumed, true then: the SIGCONT is in the signal pipe too. False where nobody could resume
 * it (a stop in an orphaned process group is discarded) and it went on at once. The caller
 * gives the terminal back before and takes it again after.
 */
static int l_suspend(lua_State *L)
{
	struct sigaction dfl, mine;
	sigset_t set, old;
	sig_atomic_t before = resumes;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGTSTP, &dfl, &mine);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, &old);
	raise(SIGTSTP);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGTSTP, &mine, NULL);
	lua_pushboolean(L, resumes != before);
	return 1;
}

static int mode_restore(lua_State *L)
{
	term_mode *m = luaL_checkudata(L, 1, TERM_MODE);
	if (m->fd >= 0) {
		if (raw_fd == m->fd)
			raw_fd = -1;
		while (tcsetattr(m->fd, TCSADRAIN, &m->saved) != 0 && errno == EINTR)
			;
		m->fd = -1;
	}
	return 0;
}

/* mode:reapply() -> true | nil, message: raw mode again, as raw() set it, after a signal's
 * handler gave the terminal its settings back (a stop, a forwarded signal) */
static int mode_reapply(lua_State *L)
{
	term_mode *m = luaL_checkudata(L, 1, TERM_MODE);
	int r;
	if (m->fd < 0) {
		lua_pushnil(L);
		lua_pushliteral(L, "the terminal's raw mode was restored for good");
		return 2;
	}
	raw_saved = m->saved;
	raw_fd = m->fd;
	while ((r = tcsetattr(m->fd, TCSANOW, &m->raw)) != 0 && errno == EINTR)
		;
	if (r != 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "cannot put terminal %d in raw mode again: %s", m->fd, strerror(errno));
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* raw(fd) -> mode, with mode:restore() behind __gc and __close too | nil, message */
static int l_raw(lua_State *L)
{
	int fd = dp_check_int(L, 1, 0, INT_MAX);
	struct termios t;
	term_mode *m = lua_newuserdatauv(L, sizeof *m, 0);

	m->fd = -1;
	luaL_setmetatable(L, TERM_MODE);
	if (tcgetattr(fd, &m->saved) != 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "cannot read the settings of terminal %d: %s", fd, strerror(errno));
		return 2;
	}
	t = m->saved;
	/* What cfmakeraw does, spelled out: it is not POSIX. */
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_oflag &= ~(tcflag_t)OPOST;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	m->raw = t;
	raw_saved = m->saved;
	raw_fd = fd;
	m->fd = fd;
	if (tcsetattr(fd, TCSADRAIN, &t) != 0) {
		int e = errno;
		raw_fd = -1;
		m->fd = -1;
		lua_pushnil(L);
		lua_pushfstring(L, "cannot put terminal %d in raw mode: %s", fd, strerror(e));
		return 2;
	}
	return 1;
}

/* winsize(fd) -> rows, cols | nil */
static int l_winsize(lua_State *L)
{
	struct winsize ws;
	if (ioctl(dp_check_int(L, 1, 0, INT_MAX), TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 ||
	    ws.ws_col == 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushinteger(L, ws.ws_row);
	lua_pushinteger(L, ws.ws_col);
	return 2;
}

static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty(dp_check_int(L, 1, 0, INT_MAX)));
	return 1;
}

/* fileno(file) -> fd, after flushing what Lua buffered, so bytes stay in order */
static int l_fileno(lua_State *L)
{
#if LUA_VERSION_NUM >= 502
	luaL_Stream *p = luaL_checkudata(L, 1, LUA_FILEHANDLE);
	FILE *f = p->closef ? p->f : NULL;
#else
	FILE **pf = luaL_checkudata(L, 1, LUA_FILEHANDLE);
	FILE *f = *pf;
#endif
	if (!f)
		return luaL_argerror(L, 1, "file is closed");
	fflush(f);
	lua_pushinteger(L, fileno(f));
	return 1;
}

/* read(fd, [max, [timeout_ms]]) -> bytes (4 KiB at most) | "" when nothing came in time | nil at the end */
static int l_read(lua_State *L)
{
	int fd = dp_check_int(L, 1, 0, INT_MAX);
	lua_Integer max = luaL_optinteger(L, 2, 4096);
	int timeout = dp_opt_timeout_ms(L, 3);
	char p[4096];
	ssize_t k;

	luaL_argcheck(L, max > 0, 2, "must be positive");
	if (max > (lua_Integer)sizeof p)
		max = sizeof p;
	if (dp_wait_fd(fd, POLLIN, timeout) == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	do
		k = read(fd, p, (size_t)max);
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno == EAGAIN) {
		lua_pushliteral(L, "");
		return 1;
	}
	if (k <= 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushlstring(L, p, (size_t)k);
	return 1;
}

/* poll({{fd, "r" | "w" | "rw"}, ...}, [timeout_ms]) -> {ready fd = "r" | "w" | "rw", ...}; 4096 fds at most */
static int l_poll(lua_State *L)
{
	struct pollfd *fds;
	int n, i, r, timeout = dp_opt_timeout_ms(L, 2);

	luaL_checktype(L, 1, LUA_TTABLE);
	n = (int)lua_rawlen(L, 1);
	luaL_argcheck(L, n <= 4096, 1, "4096 fds at most");
	fds = lua_newuserdata(L, sizeof *fds * (size_t)(n ? n : 1)); /* the collector owns it */
	for (i = 0; i < n; i++) {
		const char *ev;
		lua_rawgeti(L, 1, i + 1);
		luaL_checktype(L, -1, LUA_TTABLE);
		lua_rawgeti(L, -1, 1);
		lua_rawgeti(L, -2, 2);
		fds[i].fd = dp_check_int(L, -2, -1, INT_MAX); /* -1: ignored, as poll() does */
		ev = luaL_optstring(L, -1, "r");
		fds[i].events = (short)((strchr(ev, 'r') ? POLLIN : 0) | (strchr(ev, 'w') ? POLLOUT : 0));
		fds[i].revents = 0;
		lua_pop(L, 3);
	}
	do
		r = poll(fds, (nfds_t)n, timeout);
	while (r < 0 && errno == EINTR && timeout < 0);
	lua_newtable(L);
	for (i = 0; r > 0 && i < n; i++) {
		short re = fds[i].revents;
		if (!re)
			continue;
		lua_pushinteger(L, fds[i].fd);
		if ((re & (POLLIN | POLLHUP | POLLERR)) && (re & POLLOUT))
			lua_pushliteral(L, "rw");
		else if (re & POLLOUT)
			lua_pushliteral(L, "w");
		else
			lua_pushliteral(L, "r");
		lua_rawset(L, -3);
	}
	return 1;
}

static int l_sleep(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);
	struct timespec ts;
	luaL_argcheck(L, s >= 0 && s <= INT_MAX, 1, "out of range");
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

/* monotime() -> seconds on a clock that never jumps */
static int l_monotime(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
	return 1;
}

void dp_term_open(lua_State *L)
{
	static const luaL_Reg mode_methods[] = {
		{"restore", mode_restore},
		{"reapply", mode_reapply},
		{NULL, NULL},
	};
	static const luaL_Reg mode_meta[] = {
		{"__gc", mode_restore},
		{"__close", mode_restore},
		{NULL, NULL},
	};
	static const luaL_Reg funcs[] = {
		{"signals", l_signals},
		{"pending_signals", l_pending_signals},
		{"suspend", l_suspend},
		{"raise", l_raise},
		{"kill", l_kill},
		{"default_signal", l_default_signal},
		{"raw", l_raw},
		{"winsize", l_winsize},
		{"isatty", l_isatty},
		{"fileno", l_fileno},
		{"read", l_read},
		{"poll", l_poll},
		{"sleep", l_sleep},
		{"monotime", l_monotime},
		{NULL, NULL},
	};

	dp_new_class(L, TERM_MODE, mode_meta, mode_methods);
	luaL_setfuncs(L, funcs, 0);
	lua_pushinteger(L, SIGWINCH); /* what pending_signals gives for a resize */
	lua_setfield(L, -2, "SIGWINCH");
	lua_pushinteger(L, SIGTSTP); /* a stop asked for: core.suspend() */
	lua_setfield(L, -2, "SIGTSTP");
	lua_pushinteger(L, SIGCONT); /* a resume: the terminal is taken again */
	lua_setfield(L, -2, "SIGCONT");
}
