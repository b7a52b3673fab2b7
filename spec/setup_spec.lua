-- The project's own set-up: the engine script, make install and the luarocks install.
local helpers = require "helpers"

-- Runs cmd in a shell; returns what it printed (stdout and stderr) and its exit status.
local function sh(cmd)
  return helpers.popen_status("(" .. cmd .. ") 2>&1")
end

describe("scripts/engine #engine", function()
  it("is harmless to run again while the engine runs, and says in a line what it checked", function()
    local out, status = sh("scripts/engine")
    assert.equal(0, status, out)
    local c = helpers.engine()
    local api = assert(c:version()).ApiVersion
    c:close()
    assert.equal(("scripts/engine: engine up at unix:///var/run/docker.sock and tcp://127.0.0.1:2376 (TLS), "
      .. "API %s, image busybox:latest\n"):format(api), out)
  end)

  it("has built the busybox image locally, with a shell", function()
    local c = helpers.engine()
    local img = assert(c:request("GET", "/images/busybox:latest/json"))
    assert.same({ "sh" }, img.Config.Cmd)
    c:close()
  end)

  -- Killed and restarted on an engine of its own (scripts/engine --root), never on the one
  -- other people's containers run on.
  it("comes back after the engine was killed under a session, which ends at once #restart", function()
    local root = os.tmpname()
    os.remove(root)
    local engine = "scripts/engine --root " .. root
    -- a container on the shared engine, as someone else's: it must still run at the end
    local shared = helpers.engine()
    local bystander = helpers.container(shared, { Cmd = { "sleep", "300" } })
    assert(shared:start(bystander))
    finally(function()
      sh(engine .. " stop")
      sh("rm -rf " .. root)
      shared:remove_container(bystander, { force = true })
      shared:close()
    end)
    local out, status = sh(engine)
    assert.equal(0, status, out)
    local host = "unix://" .. root .. "/docker.sock"
    local c = helpers.engine { host = host }
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true, StopTimeout = 1 })
    c:close()
    local t = helpers.pty_lua(([[
      local dockerpty = require "dockerpty"
      local c = assert(dockerpty.client())
      local code, err, kind = dockerpty.start(c, %q)
      io.stdout:write("\r\nRESULT:", tostring(code), ":", tostring(err), ":", tostring(kind), "\r\n")
    ]]):format(id), { env = { DOCKER_HOST = host } })
    local before = t:settings()
    t:expect("# ")
    local pid = assert(tonumber(helpers.read_file(root .. "/dockerd.pid")))
    local core = require "dockerpty.core"
    local t0 = core.monotime()
    assert(helpers.execute("kill -9 " .. pid))
    local result = t:expect("RESULT:([^\r]*)", 10)
    local took = core.monotime() - t0
    assert.same({ "exit", 0 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()
    assert.is_true(took < 2, ("the session took %.1f s to end"):format(took))
    assert.is_truthy(result:find("^nil:.*" .. host:gsub("%p", "%%%0") .. ".*:transport$"), result)
    assert.not_matches("traceback", result)

    out, status = sh(engine)
    assert.equal(0, status, out)
    assert.not_equal(pid, tonumber(helpers.read_file(root .. "/dockerd.pid")))
    c = helpers.engine { host = host }
    local again = helpers.container(c, { Cmd = { "sh", "-c", "echo back; exit 4" } })
    local tmp = os.tmpname()
    local fo = assert(io.open(tmp, "wb"))
    assert.equal(4, require("dockerpty").start(c, again, { stdout = fo }))
    fo:close()
    assert.equal("back\n", helpers.read_file(tmp))
    os.remove(tmp)
    c:close()
    assert.matches(("\nscripts/engine: engine up at %s, API 1%%.%%d+, image busybox:latest\n$"):format(host:gsub("%p", "%%%0")), out)
    out, status = sh(engine .. " stop")
    assert.equal(0, status, out)
    assert.same({ "", 1 }, { sh("grep -F " .. root .. " /proc/mounts") })
    assert.is_true(assert(shared:inspect_container(bystander)).State.Running)
  end)

  it("prints the variables for the TLS endpoint", function()
    local out, status = sh("scripts/engine env")
    assert.equal(0, status)
    assert.equal(("export DOCKER_HOST=tcp://127.0.0.1:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=%s/client\n")
      :format(helpers.tls), out)
  end)
end)

describe("make's package sets", function()
  -- What each target would install on a machine with nothing, as a user who may not install:
  -- scripts/deps then names what is missing and stops.
  local function wanted(target)
    local fake = os.tmpname()
    os.remove(fake)
    finally(function() sh("rm -rf " .. fake) end)
    -- make runs in a copy of what it reads, as the checkout may sit where that user cannot go
    assert.equal(0, select(2, sh(("mkdir -m 755 %s %s/tree && printf '#!/bin/sh\nexit 1\n' >%s/dpkg-query && "
      .. "chmod 755 %s/dpkg-query && cp -r Makefile scripts %s/tree && chmod -R a+rX %s")
      :format(fake, fake, fake, fake, fake, fake))))
    local out, status = sh(("cd %s/tree && setpriv --reuid=65534 --regid=65534 --clear-groups env PATH=%s:$PATH "
      .. "make -s --no-print-directory %s"):format(fake, fake, target))
    assert.equal(2, status, out)
    local list = assert(out:match("scripts/deps: missing packages: ([^\n(]+) %(run as root"), out)
    local set = {}
    for p in list:gmatch("%S+") do set[p] = true end
    return set
  end

  it("build and run with the compilers, Lua and the engine's packages, no test tools", function()
    for _, target in ipairs { "deps", "run", "unit", "test", "lint", "valgrind" } do
      local set = wanted(target)
      for _, p in ipairs { "build-essential", "liblua5.4-dev", "libluajit-5.1-dev", "libcjson-dev", "docker.io", "busybox-static" } do
        assert.is_true(set[p], target .. " needs " .. p)
      end
      local testing = target == "test" or target == "lint" or target == "valgrind"
      for _, p in ipairs { "valgrind", "clang-tidy", "asciinema", "neovim", "cppcheck", "lua-check" } do
        assert.equal(testing or nil, set[p], target .. " and " .. p)
      end
      assert.equal(target ~= "deps" and target ~= "run" or nil, set["lua-busted"], target .. " and busted")
    end
  end)
end)

describe("a spec run #engine", function()
  it("removes its own containers and leaves another run's alone", function()
    local c = helpers.engine()
    local mine = helpers.container(c, { Cmd = { "true" } })
    -- another run's helpers, in a process of its own, as a second `make test` on this engine
    local out, status = helpers.run_lua([[
      package.path = "./spec/?.lua;" .. package.path
      local helpers = require "helpers"
      local c = helpers.engine()
      io.write(helpers.label, " ", helpers.container(c, { Cmd = { "true" } }))
    ]], { DOCKERPTY_SPEC_RUN = helpers.run_id .. "-other" })
    assert.equal(0, status, out)
    local other_label, theirs = out:match("^(%S+) (%x+)$")
    assert.is_truthy(theirs, out)
    finally(function() c:remove_container(theirs, { force = true }); c:close() end)
    assert.not_equal(helpers.label, other_label)
    local ours = {}
    for _, ct in ipairs(helpers.ours(c)) do ours[ct.Id] = true end
    assert.is_true(ours[mine])
    assert.is_nil(ours[theirs])
    helpers.cleanup(c)
    assert.same({}, helpers.ours(c))
    assert.is_falsy(c:inspect_container(mine))
    assert.truthy(c:inspect_container(theirs))
  end)
end)

describe("make install #engine #install", function()
  it("installs a command that works from its prefix, with the modules precompiled for Lua 5.4", function()
    local dir = os.tmpname()
    os.remove(dir)
    finally(function() sh("rm -rf " .. dir) end)
    local lua_version = os.getenv("LUA_VERSION") or "5.4"
    local out, status = sh(("make -s --no-print-directory install LUA_VERSION=%s PREFIX=%s")
      :format(lua_version, dir))
    assert.equal(0, status, out)
    local share = dir .. "/share/lua/" .. (lua_version == "luajit" and "5.1" or lua_version) .. "/dockerpty/"
    for _, m in ipairs { "init", "cli", "client", "session", "embed" } do
      local f = assert(io.open(share .. m .. ".lua", "rb"))
      local head = f:read(4)
      f:close()
      -- "\27Lua" starts a binary chunk; LuaJIT keeps the sources
      assert.equal(lua_version == "luajit" and "--" or "\27Lua", head:sub(1, lua_version == "luajit" and 2 or 4), m)
    end
    -- the interpreter by its full path, not through env
    local shebang = helpers.read_file(dir .. "/bin/dockerpty"):match("^[^\n]*")
    local interp = shebang:match("^#!(/%S+)$")
    assert.truthy(interp, shebang)
    assert.not_equal("/usr/bin/env", interp)
    assert.equal(0, select(2, sh(("test -x %s"):format(interp))), interp)
    out, status = sh(("cd / && %s/bin/dockerpty run --rm busybox sh -c 'echo from-$((6*7))'"):format(dir))
    assert.equal(0, status, out)
    assert.equal("from-42\n", out)
    -- an error raised in a precompiled module is still one line, naming the thing and the cause
    out, status = sh(("cd / && %s/bin/dockerpty run --rm --detach-keys=ctrl-zz busybox true"):format(dir))
    assert.equal(125, status, out)
    assert.equal('dockerpty: --detach-keys: invalid key spec "ctrl-zz": unknown key "ctrl-zz"\n', out)
    -- through a symlink elsewhere (~/.local/bin, say), and from its own directory
    assert.equal(0, select(2, sh(("mkdir %s/links && ln -s %s/bin/dockerpty %s/links/dp"):format(dir, dir, dir))))
    out, status = sh(("cd / && %s/links/dp run --rm busybox echo linked"):format(dir))
    assert.same({ "linked\n", 0 }, { out, status })
    out, status = sh(("cd %s/bin && ./dockerpty run --rm busybox echo here"):format(dir))
    assert.same({ "here\n", 0 }, { out, status })
  end)
end)

describe("luarocks install #engine #install", function()
  it("installs a module that works from its tree", function()
    local dir = os.tmpname()
    os.remove(dir)
    -- luarocks calls LuaJIT by the Lua version it implements, 5.1, and installs under lib/lua/5.1
    local lua_version = (os.getenv("LUA_VERSION") or "5.4")
    if lua_version == "luajit" then lua_version = "5.1" end
    local out, status = sh(("mkdir -p %s/src && cp -r rockspec lua src bin %s/src/ && cd %s/src && "
      .. "luarocks --lua-version %s make --tree %s/tree rockspec/dockerpty-scm-1.rockspec")
      :format(dir, dir, dir, lua_version, dir))
    assert.equal(0, status, out)
    out, status = sh(("cd / && eval \"$(luarocks --lua-version %s path --tree %s/tree)\" && %s -e "
      .. "'local d = require \"dockerpty\"; print(package.searchpath(\"dockerpty.core\", package.cpath)); "
      .. "print(assert(d.client()):ping())'"):format(lua_version, dir, helpers.lua))
    sh("rm -rf " .. dir)
    assert.equal(0, status, out)
    assert.equal(dir .. "/tree/lib/lua/" .. lua_version .. "/dockerpty/core.so\ntrue\n", out)
  end)
end)

describe("the rockspec", function()
  it("builds the core from every C file and installs every module", function()
    local spec = helpers.read_file("rockspec/dockerpty-scm-1.rockspec")
    local p = assert(io.popen("ls src/*.c; find lua -name '*.lua'"))
    local missing = {}
    for file in p:lines() do
      if not spec:find('"' .. file .. '"', 1, true) then missing[#missing + 1] = file end
    end
    p:close()
    assert.same({}, missing)
  end)
end)

describe("make run #engine", function()
  it("opens a shell in a container that is removed when it exits", function()
    local c = helpers.engine()
    local t = helpers.pty_run({ "make", "-s", "--no-print-directory", "run" })
    t:expect("# ", 120)
    -- the container's hostname is its short ID: that container, not a count of the engine's
    t:send("echo in-make-run-$((1+2)) $(hostname)\r")
    local id = t:expect("in%-make%-run%-3 (%x+)")
    assert(c:inspect_container(id))
    t:send("exit\r")
    assert.same({ "exit", 0 }, { t:wait(60) })
    t:close()
    require("dockerpty.core").sleep(0.3)
    local gone, _, code = c:inspect_container(id)
    assert.same({ nil, 404 }, { gone, code })
    c:close()
  end)
end)
