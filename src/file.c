/* Files the core writes for the user: created private and never through a link, written whole. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dockerpty.h"

#define FILE_NAME "dockerpty.File"

typedef struct {
	int fd; /* -1 once closed */
} dp_file;

/* Writes every byte, waiting when fd is non-blocking and full, as a blocking fd would; 0 or an errno. */
static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t k = write(fd, s, n);
		if (k > 0) {
			s += k;
			n -= (size_t)k;
		} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = {fd, POLLOUT, 0};
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return errno;
		} else if (k < 0 && errno != EINTR) {
			return errno;
		}
	}
	return 0;
}

/* write_all(fd, bytes...) -> true | nil, message: a stdout that another program left non-blocking is waited for */
static int l_write_all(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1), top = lua_gettop(L), i, err;
	for (i = 2; i <= top; i++) {
		size_t n;
		const char *s = luaL_checklstring(L, i, &n);
		if ((err = write_all(fd, s, n)) != 0) {
			lua_pushnil(L);
			lua_pushstring(L, strerror(err));
			return 2;
		}
	}
	lua_pushboolean(L, 1);
	return 1;
}

static dp_file *check_open(lua_State *L)
{
	dp_file *f = luaL_checkudata(L, 1, FILE_NAME);
	if (f->fd < 0)
		luaL_error(L, "attempt to use a closed file");
	return f;
}

static int file_fail(lua_State *L, const char *path, const char *cause)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", path, cause);
	return 2;
}

/* An existing file that is the user's own, regular, empty and of one name: nothing to lose in it. */
static int open_empty(const char *path)
{
	struct stat st;
	int flags, fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != 0 || st.st_uid != geteuid() ||
	    st.st_nlink != 1 || (flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || fchmod(fd, 0600) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * create_file(path [, probe]) -> file | nil, "path: cause". A new file of mode 0600, as a
 * recording holds all a session printed. A symbolic link is refused, never followed; so is an
 * existing file, but for an empty one of the user's own (os.tmpname's). With probe, whether
 * the file could be made: it is made and removed again.
 */
static int l_create_file(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int probe = lua_toboolean(L, 2), made = 1;
	dp_file *f = lua_newuserdatauv(L, sizeof *f, 0);

	f->fd = -1;
	luaL_setmetatable(L, FILE_NAME);
	f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f->fd < 0 && errno == EEXIST) {
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			return file_fail(L, path, "a symbolic link, which is never followed");
		if ((f->fd = open_empty(path)) < 0)
			return file_fail(L, path, "exists, and is not overwritten");
		made = 0;
	}
	if (f->fd < 0)
		return file_fail(L, path, strerror(errno));
	if (probe) {
		if (made)
			unlink(path);
		close(f->fd);
		f->fd = -1;
		lua_pushboolean(L, 1);
	}
	return 1;
}

/* file:write(bytes...) -> true | nil, message */
static int file_write(lua_State *L)
{
	dp_file *f = check_open(L);
	lua_pushinteger(L, f->fd);
	lua_replace(L, 1);
	return l_write_all(L);
}

static int file_fileno(lua_State *L)
{
	lua_pushinteger(L, check_open(L)->fd);
	return 1;
}

/* close, __gc and __close: the first closes the fd, the others do nothing */
static int file_close(lua_State *L)
{
	dp_file *f = luaL_checkudata(L, 1, FILE_NAME);
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	return 0;
}

static int file_tostring(lua_State *L)
{
	dp_file *f = luaL_checkudata(L, 1, FILE_NAME);
	lua_pushstring(L, f->fd < 0 ? "dockerpty.File (closed)" : "dockerpty.File");
	return 1;
}

void dp_file_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"write", file_write},
		{"fileno", file_fileno},
		{"close", file_close},
		{NULL, NULL},
	};
	static const luaL_Reg funcs[] = {
		{"create_file", l_create_file},
		{"write_all", l_write_all},
		{NULL, NULL},
	};

	luaL_newmetatable(L, FILE_NAME);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, file_close);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, file_close);
	lua_setfield(L, -2, "__close");
	lua_pushcfunction(L, file_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	luaL_setfuncs(L, funcs, 0);
}
