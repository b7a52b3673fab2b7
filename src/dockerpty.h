/* What the core's files share: each area's open function and the JSON bridge. */
#ifndef DOCKERPTY_H
#define DOCKERPTY_H

#include "compat.h"

#define DP_VERSION "0.1.0"

/* Deepest nesting of arrays and objects accepted in either direction. */
#define DP_JSON_MAX_DEPTH 200

/* Each adds its functions to the module table on top of the stack. */
void dp_json_open(lua_State *L);
void dp_http_open(lua_State *L);

#endif
