-- A stuck engine: a request or a hijack it never answers ends on a signal, as the signal
-- would end the program, and a response head it trickles ends at a deadline.
local helpers = require "helpers"

local SIGINT, SIGTERM = 2, 15

-- A stand-in engine at a fresh socket, in MODE (spec/support/mute.py), gone with the spec.
local function mute(mode)
  local path = os.tmpname()
  os.remove(path)
  local p = assert(io.popen(("exec python3 spec/support/mute.py %s %s"):format(path, mode)))
  assert.equal("listening", p:read("*l"))
  return "unix://" .. path, function()
    os.execute("pkill -f 'mute.py " .. path .. "'")
    p:close()
  end
end

-- A program started in a pseudo-terminal that is left waiting on the engine, then sent sig.
local function interrupted(cmd, sig)
  local t = helpers.pty_run(cmd)
  t:expect("waiting")
  require("dockerpty.core").sleep(0.5) -- inside the request by now
  t:kill(sig)
  local how, code = t:wait(15)
  t:close()
  return how, code, t.out
end

local function lua_program(host, call)
  return { helpers.lua, "-e", helpers.prelude .. ([[
    local dockerpty = require "dockerpty"
    local c = assert(dockerpty.client { host = %q, api_version = "1.41" })
    io.stdout:write("waiting\n"); io.stdout:flush()
    local ok, res = pcall(function() return %s end)
    io.stdout:write("\nRESULT:", tostring(ok), ":", tostring(res), "\n")
  ]]):format(host, call) }
end

describe("a hijack's headers #memcheck", function()
  it("go out as given, and none can break the request head", function()
    local out, status = helpers.run_lua([[
      local core = require "dockerpty.core"
      local c = assert(require("dockerpty").client())
      local function try(h)
        local ok, err = pcall(core.hijack, c.transport, "/_ping", nil, nil, false, false, "GET", h)
        return ok and "ok" or err:gsub("^.-hijack", "hijack")
      end
      print(try({ ["X-Registry-Auth"] = "e30=" }))
      print(try({ ["X-A"] = "a\r\nX-B: b" }))
      print(try({ ["X A"] = "a" }))
      print(try({ ["X\0A"] = "a" }))
      print(try({ [1] = "a" }))
    ]])
    assert.equal(0, status, out)
    assert.equal(table.concat({
      "ok",
      "hijack: the value of header X-A has a control character",
      'hijack: header name "X A" is not an HTTP token',
      'hijack: header name "X" is not an HTTP token',
      "hijack: headers must map names to strings", "" }, "\n"), out)
  end)
end)

describe("a session sent SIGINT #engine", function()
  it("dies by it, the terminal put back and the --rm container left to the engine", function()
    local c = helpers.engine()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "run", "-it", "--rm", "-l", helpers.label, "busybox", "sh" })
    local before = t:settings()
    t:expect("# ")
    t:kill(SIGINT)
    assert.same({ "signal", SIGINT }, { t:wait(15) })
    assert.equal(before, t:settings())
    assert.is_nil(t.out:find("internal error", 1, true), t.out)
    t:close()
    helpers.cleanup(c)
    c:close()
  end)
end)

describe("a stuck engine", function()
  it("gives way to SIGINT in the command, which dies by it as docker does", function()
    local host, stop = mute("silent")
    finally(stop)
    local how, code = interrupted({ "sh", "-c", "echo waiting; exec " .. helpers.lua .. " bin/dockerpty -H " .. host .. " ps" },
      SIGINT)
    assert.same({ "signal", SIGINT }, { how, code })
  end)

  it("gives way to SIGTERM in the command", function()
    local host, stop = mute("silent")
    finally(stop)
    local how, code = interrupted({ "sh", "-c", "echo waiting; exec " .. helpers.lua .. " bin/dockerpty -H " .. host .. " ps" },
      SIGTERM)
    assert.same({ "signal", SIGTERM }, { how, code })
  end)

  it("gives way to SIGINT in a Lua script, as Lua's interpreter stops a script", function()
    local host, stop = mute("silent")
    finally(stop)
    local how, code, out = interrupted(lua_program(host, "c:ping()"), SIGINT)
    -- lua's own handler: the script's error "interrupted!" once the request has given up
    assert.matches("RESULT:false:[^\n]*interrupted!", out)
    assert.same({ "exit", 0 }, { how, code })
  end)

  it("gives way to SIGINT while a hijack waits for its answer", function()
    local host, stop = mute("silent")
    finally(stop)
    local how, code = interrupted({ "sh", "-c", "echo waiting; exec " .. helpers.lua .. " bin/dockerpty -H " .. host
      .. " attach 0123456789ab" }, SIGINT)
    assert.same({ "signal", SIGINT }, { how, code })
  end)

  it("gives way to SIGINT while a stream's read waits with no limit", function()
    local host, stop = mute("silent")
    finally(stop)
    local how, code, out = interrupted(lua_program(host, [[(function()
      local s = assert(require("dockerpty.core").hijack(c.transport, "/events", nil, nil, false, true))
      return s:read(100, -1)
    end)()]]), SIGINT)
    -- Lua's hook raises inside the pcall (5.4) or just after it (LuaJIT): either way, it ends
    assert.matches("interrupted!", out)
    assert.equal("exit", how)
    assert.is_true(code == 0 or code == 1, out)
  end)

  it("says when a request was interrupted, with its own code", function()
    local host, stop = mute("silent")
    finally(stop)
    -- SIGTERM with a handler of the script's own: the request ends and says why
    local prog = lua_program(host, [[(function()
      local core = require "dockerpty.core"
      core.signals(true)
      local r = { c:ping() }
      core.signals(false)
      return table.concat({ tostring(r[1]), tostring(r[2]), tostring(r[3]) }, "|")
    end)()]])
    local t = helpers.pty_run(prog)
    t:expect("waiting")
    require("dockerpty.core").sleep(0.5)
    t:kill(SIGTERM)
    local res = t:expect("RESULT:([^\n]*)")
    t:wait(10)
    t:close()
    assert.matches("^true:nil|request to " .. host:gsub("%p", "%%%0") .. " interrupted by a signal|interrupted", res)
  end)

  it("cannot trickle a hijack's response head past the client's timeout", function()
    local host, stop = mute("trickle")
    finally(stop)
    local out, status = helpers.run_lua(([[
      local dockerpty = require "dockerpty"
      local c = assert(dockerpty.client { host = %q, api_version = "1.41", timeout = 2 })
      local t0 = require("dockerpty.core").monotime()
      local s, err, code = c:attach_socket("0123456789ab", { stdin = true })
      print(s, err, code, require("dockerpty.core").monotime() - t0 < 10)
    ]]):format(host))
    assert.equal(0, status, out)
    assert.matches("nil\t[^\n]*did not answer within 2 s\ttransport\ttrue", out)
  end)
end)
