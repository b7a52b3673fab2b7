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
  -- A TLS stream is half-closed with a close_notify on libcurl's own OpenSSL session.
  OPENSSL = { header = "openssl/ssl.h", library = "ssl" },
}

build = {
  type = "builtin",
  install = {
    bin = { dockerpty = "bin/dockerpty" },
  },
  modules = {
    ["dockerpty"] = "lua/dockerpty/init.lua",
    ["dockerpty.client"] = "lua/dockerpty/client.lua",
    ["dockerpty.endpoint"] = "lua/dockerpty/endpoint.lua",
    ["dockerpty.session"] = "lua/dockerpty/session.lua",
    ["dockerpty.select"] = "lua/dockerpty/select.lua",
    ["dockerpty.flags"] = "lua/dockerpty/flags.lua",
    ["dockerpty.cli"] = "lua/dockerpty/cli.lua",
    ["dockerpty.embed"] = "lua/dockerpty/embed.lua",
    ["dockerpty.record"] = "lua/dockerpty/record.lua",
    ["dockerpty.filter"] = "lua/dockerpty/filter.lua",
    ["dockerpty.nvim"] = "lua/dockerpty/nvim.lua",
    ["dockerpty.health"] = "lua/dockerpty/health.lua",
    ["dockerpty.core"] = {
      sources = {
        "src/core.c", "src/json.c", "src/http.c", "src/parsers.c", "src/demux.c",
        "src/keys.c", "src/head.c", "src/stream.c", "src/term.c", "src/pump.c",
      },
      libraries = { "curl", "cjson", "ssl", "m" },
      incdirs = { "$(CURL_INCDIR)", "$(CJSON_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(CJSON_LIBDIR)", "$(OPENSSL_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
    },
  },
}
