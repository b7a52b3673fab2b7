-- The project's own set-up: the engine script, make install and the luarocks install.
local helpers = require "helpers"

-- Runs cmd in a shell; returns what it printed (stdout and stderr) and its exit status.
local function sh(cmd)
  return helpers.popen_status("(" .. cmd .. ") 2>&1")
end

describe("scripts/engine #engine", function()
  it("is harmless to run again while the engine runs", function()
    local out, status = sh("scripts/engine")
    assert.equal(0, status, out)
    assert.equal("", out)
    helpers.engine():close()
  end)

  it("has built the busybox image locally, with a shell", function()
    local c = helpers.engine()
    local img = assert(c:request("GET", "/images/busybox:latest/json"))
    assert.same({ "sh" }, img.Config.Cmd)
    c:close()
  end)

  -- Killing the engine leaves state that its next start cleans up, a fraction of a second per
  -- container made since it last started, so this runs once, near the end of a pass.
  it("comes back after the engine was killed under a session, which ends at once #restart", function()
    -- whatever happens, the engine is back for the specs that follow
    finally(function() helpers.execute("scripts/engine >/dev/null 2>&1") end)
    local c = helpers.engine()
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true, StopTimeout = 1 })
    c:close()
    local t = helpers.pty_lua(([[
      local dockerpty = require "dockerpty"
      local core = require "dockerpty.core"
      local c = assert(dockerpty.client())
      local code, err, kind = dockerpty.start(c, %q)
      io.stdout:write("\r\nRESULT:", tostring(code), ":", tostring(err), ":", tostring(kind), "\r\n")
    ]]):format(id))
    local before = t:settings()
    t:expect("# ")
    local f = assert(io.open(helpers.state .. "/dockerd.pid"))
    local pid = assert(tonumber(f:read("*a")))
    f:close()
    local core = require "dockerpty.core"
    local t0 = core.monotime()
    assert(helpers.execute("kill -9 " .. pid))
    local result = t:expect("RESULT:([^\r]*)", 10)
    local took = core.monotime() - t0
    assert.same({ "exit", 0 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()
    assert.is_true(took < 2, ("the session took %.1f s to end"):format(took))
    assert.matches("^nil:.*unix:///var/run/docker%.sock.*:transport$", result)
    assert.not_matches("traceback", result)

    local out, status = sh("scripts/engine")
    assert.equal(0, status, out)
    c = helpers.engine()
    local again = helpers.container(c, { Cmd = { "sh", "-c", "echo back; exit 4" } })
    local tmp = os.tmpname()
    local fo = assert(io.open(tmp, "wb"))
    assert.equal(4, require("dockerpty").start(c, again, { stdout = fo }))
    fo:close()
    local fi = assert(io.open(tmp, "rb"))
    assert.equal("back\n", fi:read("*a"))
    fi:close()
    os.remove(tmp)
    helpers.cleanup(c)
    c:close()
  end)

  it("prints the variables for the TLS endpoint", function()
    local out, status = sh("scripts/engine env")
    assert.equal(0, status)
    assert.equal(("export DOCKER_HOST=tcp://127.0.0.1:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=%s/client\n")
      :format(helpers.tls), out)
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

describe("make run #engine", function()
  it("opens a shell in a container that is removed when it exits", function()
    local c = helpers.engine()
    local before = #assert(c:containers { all = true })
    local t = helpers.pty_run({ "make", "-s", "--no-print-directory", "run" })
    t:expect("# ", 120)
    t:send("echo in-make-run-$((1+2))\r")
    t:expect("in%-make%-run%-3")
    t:send("exit\r")
    assert.same({ "exit", 0 }, { t:wait(60) })
    t:close()
    require("dockerpty.core").sleep(0.3)
    assert.equal(before, #assert(c:containers { all = true }))
    c:close()
  end)
end)
