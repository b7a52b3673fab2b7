/* dockerpty.core: the C half of dockerpty; one open function per area fills the module. */
#include "dockerpty.h"

int luaopen_dockerpty_core(lua_State *L)
{
	dp_std_fds_guard(); /* before anything opens a socket */
	lua_newtable(L);
	dp_json_open(L);
	dp_http_open(L);
	dp_parsers_open(L);
	dp_stream_open(L);
	dp_term_open(L);
	dp_pump_open(L);
	dp_file_open(L);
	dp_fs_open(L);
	dp_webparsers_open(L);
	dp_crypto_open(L);
	dp_listener_open(L);
	dp_websocket_open(L);
	dp_gateway_open(L);
	lua_pushliteral(L, DP_VERSION);
	lua_setfield(L, -2, "_VERSION");
	return 1;
}
