/* Each area's open function: its file defines it, core.c calls them in turn. */
#ifndef DOCKERPTY_AREAS_H
#define DOCKERPTY_AREAS_H

#include "compat.h"

/* Each adds its functions to the module table on top of the stack. */
void dp_json_open(lua_State *L);
void dp_http_open(lua_State *L);
void dp_parsers_open(lua_State *L);
void dp_stream_open(lua_State *L);
void dp_term_open(lua_State *L);
void dp_pump_open(lua_State *L);
void dp_file_open(lua_State *L);
void dp_fs_open(lua_State *L);
void dp_webparsers_open(lua_State *L);
void dp_crypto_open(lua_State *L);
void dp_listener_open(lua_State *L);
void dp_websocket_open(lua_State *L);
void dp_gateway_open(lua_State *L);

#endif
