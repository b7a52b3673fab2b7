/*
 * What walking a build context needs and Lua lacks: lstat, a directory's names, readlink, and
 * for its tar a header's checksum and a file's content (core.tar_body), read and sent up a
 * build's stream in C.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dockerpty.h"

/* nil, "PATH: cause", errno: the world's failures are returned, never raised */
static int fs_fail(lua_State *L, const char *path, int err)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", path, strerror(err));
	lua_pushinteger(L, err);
	return 3;
}

static const char *type_name(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "directory";
	if (S_ISLNK(m))
		return "symlink";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISCHR(m))
		return "char";
	if (S_ISBLK(m))
		return "block";
	return "unknown";
}

/* lstat(path) -> {type=, mode=, size=, mtime=, uid=, gid=, dev=, ino=, nlink=, devmajor=,
 * devminor=} | nil, message, errno; devmajor and devminor are a char or block device's */
static int l_lstat(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;

	if (lstat(path, &st) != 0)
		return fs_fail(L, path, errno);
	lua_createtable(L, 0, 11);
	lua_pushstring(L, type_name(st.st_mode));
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
	lua_setfield(L, -2, "mode");
	lua_pushinteger(L, (lua_Integer)st.st_size);
	lua_setfield(L, -2, "size");
	lua_pushinteger(L, (lua_Integer)st.st_mtime);
	lua_setfield(L, -2, "mtime");
	lua_pushinteger(L, (lua_Integer)st.st_uid);
	lua_setfield(L, -2, "uid");
	lua_pushinteger(L, (lua_Integer)st.st_gid);
	lua_setfield(L, -2, "gid");
	lua_pushinteger(L, (lua_Integer)st.st_dev);
	lua_setfield(L, -2, "dev");
	lua_pushinteger(L, (lua_Integer)st.st_ino);
	lua_setfield(L, -2, "ino");
	lua_pushinteger(L, (lua_Integer)st.st_nlink);
	lua_setfield(L, -2, "nlink");
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		lua_pushinteger(L, (lua_Integer)major(st.st_rdev));
		lua_setfield(L, -2, "devmajor");
		lua_pushinteger(L, (lua_Integer)minor(st.st_rdev));
		lua_setfield(L, -2, "devminor");
	}
	return 1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir(path) -> {name, ...} sorted, without . and .. | nil, message, errno */
static int l_dir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int err = 0;

	if (!d)
		return fs_fail(L, path, errno);
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			err = errno;
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof *names);
			if (!more) {
				err = ENOMEM;
				break;
			}
			names = more;
		}
		if (!(names[n] = strdup(e->d_name))) {
			err = ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	/* sorted, so that a context's tar is the same bytes each time and the cache holds */
	if (!err && n)
		qsort(names, n, sizeof *names, cmp_names);
	if (!err && lua_checkstack(L, 4)) {
		lua_createtable(L, (int)(n < INT_MAX ? n : INT_MAX), 0);
		for (i = 0; i < n; i++) {
			lua_pushstring(L, names[i]);
			lua_rawseti(L, -2, (int)(i + 1));
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (err)
		return fs_fail(L, path, err);
	return 1;
}

/* readlink(path) -> the link's target | nil, message, errno */
static int l_readlink(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char buf[PATH_MAX];
	ssize_t k = readlink(path, buf, sizeof buf);

	if (k < 0)
		return fs_fail(L, path, errno);
	if ((size_t)k == sizeof buf)
		return fs_fail(L, path, ENAMETOOLONG);
	lua_pushlstring(L, buf, (size_t)k);
	return 1;
}

/*
 * A tar body: the bytes of an archive from a prefix (the headers before it, made in Lua)
 * through a file's content to the zeros that end its last block. The content goes from the
 * file to the stream, or to Lua in pieces, in C; a file that is not the size it was listed
 * with is an error naming it, never a tar whose sizes lie.
 */
#define TAR_BODY "dockerpty.TarBody"
#define TAR_BLOCK 512
#define BODY_FRAME_MAX ((size_t)256 * 1024) /* the most one chunk of the upload carries */
#define BODY_READ_MAX ((size_t)64 * 1024)   /* and one body:read() */
#define FRAME_HEAD 10                       /* "%zx\r\n" of a frame's size, right-aligned */

typedef struct {
	int fd; /* -1 once the content is read, or closed */
	int closed;
	char *path;
	char *prefix;
	size_t prefix_len, prefix_pos;
	long long size, left; /* the content's size as listed; what is still to be read */
	size_t pad;           /* zeros still to come after the content */
	char *frame;          /* send(): the chunk being written, its head and CRLF included */
	size_t frame_cap, frame_pos, frame_end;
	char err[PATH_MAX + 160];
} tar_body;

static void body_release(tar_body *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	b->closed = 1;
	free(b->prefix);
	free(b->frame);
	b->prefix = b->frame = NULL;
	b->prefix_len = b->prefix_pos = 0;
	b->frame_cap = b->frame_pos = b->frame_end = 0;
}

/* Up to cap bytes of what comes next into dst: its count, 0 at the end, -1 with err set. */
static long body_fill(tar_body *b, char *dst, size_t cap)
{
	size_t n = 0;

	if (b->prefix_pos < b->prefix_len) {
		size_t k = b->prefix_len - b->prefix_pos < cap ? b->prefix_len - b->prefix_pos : cap;
		memcpy(dst, b->prefix + b->prefix_pos, k);
		b->prefix_pos += k;
		n += k;
	}
	/* one byte more than is left, so that a short read says the end came where it should */
	while (b->fd >= 0 && n < cap) {
		size_t want = cap - n;
		ssize_t k;
		if ((unsigned long long)want > (unsigned long long)b->left + 1)
			want = (size_t)b->left + 1;
		k = read(b->fd, dst + n, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(b->err, sizeof b->err, "%s: %s", b->path, strerror(errno));
			return -1;
		}
		if (k > b->left) {
			snprintf(b->err, sizeof b->err, "%s: the file grew while it was sent: more than the %lld bytes it had",
				 b->path, b->size);
			return -1;
		}
		if (k == 0 && b->left > 0) {
			snprintf(b->err, sizeof b->err, "%s: the file shrank while it was sent: %lld bytes of the %lld it had",
				 b->path, b->size - b->left, b->size);
			return -1;
		}
		b->left -= k;
		n += (size_t)k;
		if (k == 0 || (b->left == 0 && (size_t)k < want)) {
			close(b->fd);
			b->fd = -1;
		}
	}
	if (b->fd < 0 && b->pad > 0 && n < cap) {
		size_t k = b->pad < cap - n ? b->pad : cap - n;
		memset(dst + n, 0, k);
		b->pad -= k;
		n += k;
	}
	return (long)n;
}

static tar_body *check_body(lua_State *L, int idx)
{
	tar_body *b = luaL_checkudata(L, idx, TAR_BODY);
	if (b->closed)
		luaL_error(L, "tar body of %s is closed", b->path ? b->path : "?");
	return b;
}

/* tar_checksum(block) -> the sum of its bytes: what a ustar header's checksum field holds */
static int l_tar_checksum(lua_State *L)
{
	size_t n, i;
	const unsigned char *p = (const unsigned char *)luaL_checklstring(L, 1, &n);
	lua_Integer sum = 0;

	for (i = 0; i < n; i++)
		sum += p[i];
	lua_pushinteger(L, sum);
	return 1;
}

/* tar_body(path, size, [prefix]) -> body | nil, "PATH: cause", errno */
static int l_tar_body(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lua_Integer size = luaL_checkinteger(L, 2);
	size_t prefix_len = 0;
	const char *prefix = luaL_optlstring(L, 3, "", &prefix_len);
	struct stat st;
	tar_body *b;

	luaL_argcheck(L, size >= 0, 2, "must not be negative");
	b = lua_newuserdatauv(L, sizeof *b, 0);
	memset(b, 0, sizeof *b);
	b->fd = -1;
	b->closed = 1; /* until it holds all it needs */
	luaL_setmetatable(L, TAR_BODY);
	b->path = strdup(path);
	b->prefix = malloc(prefix_len ? prefix_len : 1);
	if (!b->path || !b->prefix)
		return luaL_error(L, "out of memory");
	memcpy(b->prefix, prefix, prefix_len);
	b->prefix_len = prefix_len;
	b->size = b->left = (long long)size;
	b->pad = (TAR_BLOCK - (size_t)(size % TAR_BLOCK)) % TAR_BLOCK;
	/* no link followed and no wait on a FIFO: what was listed as a file must still be one */
	b->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (b->fd < 0 || fstat(b->fd, &st) != 0) {
		int err = errno;
		body_release(b);
		return fs_fail(L, path, err);
	}
	if (!S_ISREG(st.st_mode)) {
		body_release(b);
		lua_pushnil(L);
		lua_pushfstring(L, "%s: no longer a regular file", path);
		lua_pushinteger(L, EINVAL);
		return 3;
	}
	b->closed = 0;
	return 1;
}

/* The buffer body_fill writes into: no bigger than this body needs, at most max. */
static int body_buffer(tar_body *b, size_t max)
{
	unsigned long long need = (unsigned long long)b->prefix_len + (unsigned long long)b->size + TAR_BLOCK;
	if (b->frame)
		return 1;
	b->frame_cap = need < max ? (size_t)need : max;
	b->frame = malloc(FRAME_HEAD + b->frame_cap + 2);
	return b->frame != NULL;
}

/* body:read() -> the next piece (64 KiB at most) | nil at the end | nil, message */
static int b_read(lua_State *L)
{
	tar_body *b = check_body(L, 1);
	long n;

	if (!body_buffer(b, BODY_READ_MAX))
		return luaL_error(L, "out of memory");
	n = body_fill(b, b->frame, b->frame_cap < BODY_READ_MAX ? b->frame_cap : BODY_READ_MAX);
	if (n < 0) {
		lua_pushnil(L);
		lua_pushstring(L, b->err);
		return 2;
	}
	if (n == 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushlstring(L, b->frame, (size_t)n);
	return 1;
}

/*
 * body:send(stream) -> true (all of it went) | false (the socket is full: call again once it
 * is writable) | nil, message, "context" | nil, message, "transport". The bytes go as chunks
 * of Transfer-Encoding: chunked, up to 256 KiB each.
 */
static int b_send(lua_State *L)
{
	tar_body *b = check_body(L, 1);
	dp_stream *s = dp_check_stream(L, 2);

	/* a small file takes one chunk of its own size */
	if (!body_buffer(b, BODY_FRAME_MAX))
		return luaL_error(L, "out of memory");
	for (;;) {
		if (b->frame_pos == b->frame_end) {
			char head[FRAME_HEAD + 1];
			long n = body_fill(b, b->frame + FRAME_HEAD, b->frame_cap);
			int k;
			if (n < 0) {
				lua_pushnil(L);
				lua_pushstring(L, b->err);
				lua_pushliteral(L, "context");
				return 3;
			}
			if (n == 0) {
				lua_pushboolean(L, 1);
				return 1;
			}
			k = snprintf(head, sizeof head, "%lx\r\n", (unsigned long)n);
			memcpy(b->frame + FRAME_HEAD - k, head, (size_t)k);
			memcpy(b->frame + FRAME_HEAD + n, "\r\n", 2);
			b->frame_pos = FRAME_HEAD - (size_t)k;
			b->frame_end = FRAME_HEAD + (size_t)n + 2;
		}
		while (b->frame_pos < b->frame_end) {
			long k = dp_stream_write(s, b->frame + b->frame_pos, b->frame_end - b->frame_pos);
			if (k == DP_FAIL) {
				lua_pushnil(L);
				lua_pushstring(L, dp_stream_error(s));
				lua_pushliteral(L, "transport");
				return 3;
			}
			if (k == DP_AGAIN) {
				lua_pushboolean(L, 0);
				return 1;
			}
			b->frame_pos += (size_t)k;
		}
	}
}

static int b_close(lua_State *L)
{
	body_release(luaL_checkudata(L, 1, TAR_BODY));
	return 0;
}

static int b_gc(lua_State *L)
{
	tar_body *b = luaL_checkudata(L, 1, TAR_BODY);
	body_release(b);
	free(b->path);
	b->path = NULL;
	return 0;
}

static int b_tostring(lua_State *L)
{
	tar_body *b = luaL_checkudata(L, 1, TAR_BODY);
	lua_pushfstring(L, TAR_BODY " (%s%s)", b->path ? b->path : "?", b->closed ? ", closed" : "");
	return 1;
}

void dp_fs_open(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"lstat", l_lstat},
		{"dir", l_dir},
		{"readlink", l_readlink},
		{"tar_checksum", l_tar_checksum},
		{"tar_body", l_tar_body},
		{NULL, NULL},
	};
	static const luaL_Reg methods[] = {
		{"read", b_read},
		{"send", b_send},
		{"close", b_close},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__gc", b_gc},
		{"__close", b_close},
		{"__tostring", b_tostring},
		{NULL, NULL},
	};
	dp_new_class(L, TAR_BODY, meta, methods);
	luaL_setfuncs(L, funcs, 0);
}
