/*
 * The gateway's small cryptographic helpers, for Lua's token checks: a comparison in constant
 * time, SHA-256 in hex, random bytes from OpenSSL's generator.
 *   secure_equal(a, b) -> boolean      strings of different lengths are unequal
 *   sha256(bytes) -> 64 lowercase hex digits
 *   random_bytes(n) -> n bytes         1 <= n <= 4096
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "areas.h"
#include "auxiliar.h"

#define RANDOM_MAX 4096

static int l_secure_equal(lua_State *L)
{
	size_t na, nb;
	const char *a = luaL_checklstring(L, 1, &na);
	const char *b = luaL_checklstring(L, 2, &nb);
	/* the length is no secret: a token's is the same for every token of its kind */
	lua_pushboolean(L, na == nb && (na == 0 || CRYPTO_memcmp(a, b, na) == 0));
	return 1;
}

static int l_sha256(lua_State *L)
{
	static const char hex[] = "0123456789abcdef";
	size_t n, i;
	const char *data = luaL_checklstring(L, 1, &n);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char out[2 * EVP_MAX_MD_SIZE];

	if (EVP_Digest(data, n, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
		return luaL_error(L, "sha256: OpenSSL failed");
	for (i = 0; i < md_len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	lua_pushlstring(L, out, 2 * (size_t)md_len);
	return 1;
}

static int l_random_bytes(lua_State *L)
{
	int n = dp_check_int(L, 1, 1, RANDOM_MAX);
	unsigned char buf[RANDOM_MAX];
	if (RAND_bytes(buf, n) != 1)
		return luaL_error(L, "random_bytes: OpenSSL's generator failed");
	lua_pushlstring(L, (const char *)buf, (size_t)n);
	return 1;
}

void dp_crypto_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"secure_equal", l_secure_equal},
		{"sha256", l_sha256},
		{"random_bytes", l_random_bytes},
		{NULL, NULL},
	};
	luaL_setfuncs(L, fns, 0);
}
