-- The command against an engine that misbehaves (spec/support/standin.py): strings carrying
-- terminal escapes reach the terminal escaped in ps -q and the picker, and a stop or a restart
-- that is never answered ends at a deadline.
local helpers = require "helpers"

-- A stand-in engine at a fresh socket, in MODE, stopped by its pid with the spec.
local function standin(mode, arg)
  local path = os.tmpname()
  os.remove(path)
  local p = assert(io.popen(("exec python3 spec/support/standin.py %s %s %s"):format(path, mode, arg or "")))
  local pid = assert(tonumber((p:read("*l") or ""):match("^listening (%d+)$")), "standin.py did not start")
  return "unix://" .. path, function()
    os.execute("kill " .. pid)
    p:close()
  end
end

-- Bytes a terminal would obey in what the engine sent: OSC, a DSR that makes it answer, a
-- carriage return, and C1 CSI as UTF-8 carries it. The picker's own escapes are none of these.
local function obeyed(s)
  return s:find("\27]", 1, true) or s:find("\27[5n", 1, true) or s:find("\r\n\27[31m", 1, true)
    or s:find("\194[\128-\159]")
end

describe("a hostile engine's strings", function()
  local host, stop

  setup(function() host, stop = standin("hostile") end)
  teardown(function() if stop then stop() end end)

  it("reach ps -q escaped, truncated or whole", function()
    local out, err, status = helpers.dockerpty { "-H", host, "ps", "-q" }
    assert.equal(0, status, err)
    assert.equal("ab\\x1b]0;PWN\\acd\n", out)
    out, err, status = helpers.dockerpty { "-H", host, "ps", "-q", "--no-trunc" }
    assert.equal(0, status, err)
    assert.equal("ab\\x1b]0;PWN\\acdef0123456789\n", out)
  end)

  it("reach the picker escaped, and so does the id it picks", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "-H", host, "pick" }, { cols = 200 })
    local before = t:settings()
    t:expect("pick a container")
    t:expect("evil\\x1b]0;PWN\\aname", 10, true)
    t:expect("img\\x1b[5n", 10, true)
    t:expect("Up\\r\\n\\u009b31m", 10, true)
    t:expect("sh\\x1b]2;CMD\\a", 10, true)
    t:send("\r")
    t:expect("ab\\x1b]0;PWN\\acdef0123456789", 10, true)
    assert.same({ "exit", 0 }, { t:wait(10) })
    assert.equal(before, t:settings())
    assert.is_nil(obeyed(t.out), t.out)
    t:close()
  end)
end)

describe("stop and restart without -t on an engine that never answers", function()
  -- The handler in a Lua of its own, its client's deadline 2 s, ended by `timeout` if it hangs:
  -- its status, the seconds it took and what it said.
  local function stopped(host, what)
    local code = helpers.prelude .. ([[
      local dockerpty = require "dockerpty"
      local core = require "dockerpty.core"
      local c = assert(dockerpty.client { host = %q, api_version = "1.41", timeout = 2 })
      local t0 = core.monotime()
      local ok, e = pcall(require("dockerpty.cli.lifecycle")[%q].handler, c, {}, { "stuck" }, { getenv = os.getenv })
      io.write(string.format("%%.1f ", core.monotime() - t0), tostring(ok), " ",
        type(e) == "table" and tostring(e.exit) .. " " .. tostring(e.msg) or tostring(e))
    ]]):format(host, what)
    local out, status = helpers.popen_status(("timeout 30 %s -e %s 2>&1"):format(helpers.lua, helpers.shell_quote(code)))
    return status, out
  end

  it("end at the container's stop timeout plus the client's deadline, on one line", function()
    local host, stop = standin("stuck", 1)
    finally(stop)
    for _, what in ipairs { "stop", "restart" } do
      local status, out = stopped(host, what)
      assert.equal(0, status, what .. ": " .. out) -- 124 if it hung
      local took, rest = out:match("^(%d+%.%d) (.*)$")
      assert.truthy(took, out)
      -- no sooner than the engine may take (1 s) plus the client's (2 s), and not much later
      assert.is_true(tonumber(took) >= 2.9 and tonumber(took) < 8, out)
      assert.truthy(rest:match("^false 125 [^\n]+$"), out)
    end
  end)

  it("wait the engine's default when the container sets none", function()
    local host, stop = standin("stuck")
    finally(stop)
    local status, out = stopped(host, "stop")
    assert.equal(0, status, out)
    local took = tonumber(out:match("^(%d+%.%d) "))
    assert.is_true(took >= 11.9 and took < 17, out)
  end)
end)
