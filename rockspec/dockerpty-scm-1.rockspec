rockspec_format = "3.0"
package = "dockerpty"
version = "scm-1"

source = {
  url = "git+https://example.invalid/dockerpty.git",
}

description = {
  summary = "A Docker container's terminal inside a Lua program, over the Engine API",
  detailed = [[
    dockerpty attaches a terminal, a Neovim buffer or a script to a container's
    pseudo-terminal through the Docker Engine API, with a C core over libcurl and cJSON.
  ]],
  license = "MIT",
}

dependencies = {
  "lua >= 5.1",
}

external_dependencies = {
  -- Debian keeps curl/curl.h in a multiarch directory the compiler searches by itself.
  CURL = { library = "curl" },
  CJSON = { header = "cjson/cJSON.h", library = "cjson" },
}

build = {
  type = "builtin",
  modules = {
    ["dockerpty"] = "lua/dockerpty/init.lua",
    ["dockerpty.client"] = "lua/dockerpty/client.lua",
    ["dockerpty.endpoint"] = "lua/dockerpty/endpoint.lua",
    ["dockerpty.core"] = {
      sources = { "src/core.c", "src/json.c", "src/http.c" },
      libraries = { "curl", "cjson", "m" },
      incdirs = { "$(CURL_INCDIR)", "$(CJSON_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(CJSON_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
    },
  },
}
