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
    ["dockerpty.image"] = "lua/dockerpty/image.lua",
    ["dockerpty.build"] = "lua/dockerpty/build.lua",
    ["dockerpty.tar"] = "lua/dockerpty/tar.lua",
    ["dockerpty.dockerignore"] = "lua/dockerpty/dockerignore.lua",
    ["dockerpty.credentials"] = "lua/dockerpty/credentials.lua",
    ["dockerpty.jsonlines"] = "lua/dockerpty/jsonlines.lua",
    ["dockerpty.progress"] = "lua/dockerpty/progress.lua",
    ["dockerpty.reference"] = "lua/dockerpty/reference.lua",
    ["dockerpty.session"] = "lua/dockerpty/session.lua",
    ["dockerpty.hangup"] = "lua/dockerpty/hangup.lua",
    ["dockerpty.select"] = "lua/dockerpty/select.lua",
    ["dockerpty.flags"] = "lua/dockerpty/flags.lua",
    ["dockerpty.cli"] = "lua/dockerpty/cli.lua",
    ["dockerpty.cli.base"] = "lua/dockerpty/cli/base.lua",
    ["dockerpty.cli.lifecycle"] = "lua/dockerpty/cli/lifecycle.lua",
    ["dockerpty.cli.logs"] = "lua/dockerpty/cli/logs.lua",
    ["dockerpty.cli.ps"] = "lua/dockerpty/cli/ps.lua",
    ["dockerpty.cli.image"] = "lua/dockerpty/cli/image.lua",
    ["dockerpty.cli.build"] = "lua/dockerpty/cli/build.lua",
    ["dockerpty.cli.login"] = "lua/dockerpty/cli/login.lua",
    ["dockerpty.cli.connect"] = "lua/dockerpty/cli/connect.lua",
    ["dockerpty.cli.serve"] = "lua/dockerpty/cli/serve.lua",
    ["dockerpty.cli.runopts"] = "lua/dockerpty/cli/runopts.lua",
    ["dockerpty.embed"] = "lua/dockerpty/embed.lua",
    ["dockerpty.remote"] = "lua/dockerpty/remote.lua",
    ["dockerpty.record"] = "lua/dockerpty/record.lua",
    ["dockerpty.filter"] = "lua/dockerpty/filter.lua",
    ["dockerpty.strip"] = "lua/dockerpty/strip.lua",
    ["dockerpty.nvim"] = "lua/dockerpty/nvim.lua",
    ["dockerpty.nvim.ps"] = "lua/dockerpty/nvim/ps.lua",
    ["dockerpty.health"] = "lua/dockerpty/health.lua",
    ["dockerpty.gateway.base64url"] = "lua/dockerpty/gateway/base64url.lua",
    ["dockerpty.gateway.tokens"] = "lua/dockerpty/gateway/tokens.lua",
    ["dockerpty.gateway.policy"] = "lua/dockerpty/gateway/policy.lua",
    ["dockerpty.gateway.origin"] = "lua/dockerpty/gateway/origin.lua",
    ["dockerpty.gateway.options"] = "lua/dockerpty/gateway/options.lua",
    ["dockerpty.gateway.auth"] = "lua/dockerpty/gateway/auth.lua",
    ["dockerpty.gateway.sessions"] = "lua/dockerpty/gateway/sessions.lua",
    ["dockerpty.gateway.page"] = "lua/dockerpty/gateway/page.lua",
    ["dockerpty.gateway.server"] = "lua/dockerpty/gateway/server.lua",
    ["dockerpty.core"] = {
      sources = {
        "src/core.c", "src/auxiliar.c", "src/json.c", "src/http.c", "src/parsers.c",
        "src/demux.c", "src/keys.c", "src/head.c", "src/stream.c", "src/term.c", "src/pump.c",
        "src/file.c", "src/fs.c", "src/request.c", "src/handshake.c",
        "src/webparsers.c", "src/crypto.c", "src/listener.c", "src/websocket.c", "src/gateway.c",
        "src/cast.c",
      },
      libraries = { "curl", "cjson", "ssl", "crypto", "wslay", "m" },
      incdirs = { "$(CURL_INCDIR)", "$(CJSON_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(CJSON_LIBDIR)", "$(OPENSSL_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
    },
  },
}
