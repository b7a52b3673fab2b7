-- A terminal that hangs up on `dockerpty exec -it` ends the exec's processes too, as it would
-- a local shell's, where the engine (and docker's exec) leaves them running: SIGHUP, then
-- SIGKILL for what is left after the grace period. Here, by signals to the processes; over
-- TCP, by a second exec that finds them by the session's marker.
local dockerpty = require "dockerpty"
local hangup = require "dockerpty.hangup"
local helpers = require "helpers"

-- The container's processes but the one that lists them: { "sleep 300", "sh", ... }.
local function processes(c, id)
  local code, out = dockerpty.exec_command(c, id, { "ps", "-o", "pid,stat,args" }, { capture = true })
  assert.equal(0, code)
  local list = {}
  for line in out:gmatch("[^\n]+") do
    local stat, args = line:match("^%s*%d+%s+(%S+)%s+(.+)$")
    -- zombies too are gone: the container's sleep reaps no orphan
    if args and not stat:match("^Z") and not args:match("^ps ") then list[#list + 1] = args end
  end
  table.sort(list)
  return list
end

local function wait_for(c, id, want)
  local got
  for _ = 1, 100 do
    got = processes(c, id)
    if table.concat(got, "|") == table.concat(want, "|") then return end
    require("dockerpty.core").sleep(0.05)
  end
  assert.same(want, got)
end

describe("a hangup of dockerpty exec #engine", function()
  local c, id

  before_each(function()
    c = helpers.engine()
    id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
  end)
  after_each(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  -- exec -it sh with a background job and a foreground one, hung up by SIGHUP to dockerpty.
  local function hang_up(env)
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "exec", "-it", id, "sh" }, { env = env })
    t:expect("# ")
    t:send("sleep 997 & sleep 998\r")
    wait_for(c, id, { "sh", "sleep 300", "sleep 997", "sleep 998" })
    assert(helpers.execute("kill -HUP " .. t.p:pid()))
    local how, code = t:wait()
    t:close()
    return how, code
  end

  it("ends the shell and its jobs on this machine's engine", function()
    assert.same({ "signal", 1 }, { hang_up() })
    wait_for(c, id, { "sleep 300" })
  end)

  it("ends them on an engine reached over TCP, by the session's marker", function()
    local how, code = hang_up({
      DOCKER_HOST = helpers.tls_host, DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = helpers.tls .. "/client",
    })
    assert.same({ "signal", 1 }, { how, code })
    wait_for(c, id, { "sleep 300" })
  end)

  it("leaves them running after a detach, which is not a hangup", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "exec", "-it", id, "sh" })
    t:expect("# ")
    t:send("sleep 996\r")
    wait_for(c, id, { "sh", "sleep 300", "sleep 996" })
    t:send("\16\17")
    assert.same({ "exit", 1 }, { t:wait() }) -- "read escape sequence", as docker exec ends
    t:expect("read escape sequence")
    t:close()
    wait_for(c, id, { "sh", "sleep 300", "sleep 996" })
  end)

  it("kills what ignores SIGHUP once the grace period is over", function()
    local ex = assert(c:exec_create(id, {
      Cmd = { "sh", "-c", "trap '' HUP; sleep 995" }, AttachStdout = true, AttachStderr = true,
      Env = { hangup.env_entry("t0ken") },
    }))
    assert(c:request("POST", "/exec/" .. ex.Id .. "/start", { body = { Detach = true } }))
    wait_for(c, id, { "sleep 300", "sleep 995" })
    local t0 = require("dockerpty.core").monotime()
    assert.same({ true, "local" }, { hangup.hangup(c, ex.Id, { grace = 0.5 }) })
    assert.is_true(require("dockerpty.core").monotime() - t0 >= 0.5)
    wait_for(c, id, { "sleep 300" })
    assert.same({ true, "gone" }, { hangup.hangup(c, ex.Id) })
  end)

  it("begins one without waiting: SIGHUP at once, SIGKILL from a poll after the grace period", function()
    local core = require "dockerpty.core"
    local ex = assert(c:exec_create(id, {
      Cmd = { "sh", "-c", "trap '' HUP; sleep 993" }, AttachStdout = true, AttachStderr = true,
    }))
    assert(c:request("POST", "/exec/" .. ex.Id .. "/start", { body = { Detach = true } }))
    wait_for(c, id, { "sleep 300", "sleep 993" })
    local t0 = core.monotime()
    local p = assert(hangup.begin(c, ex.Id, { grace = 2 }))
    assert.equal("local", p.how)
    assert.is_false(p:poll())
    assert.is_true(core.monotime() - t0 < 1.5, "begin and poll waited")
    wait_for(c, id, { "sleep 300", "sleep 993" }) -- it ignores SIGHUP
    while not p:poll() do core.sleep(0.05) end
    assert.is_true(core.monotime() - t0 >= 2)
    wait_for(c, id, { "sleep 300" })
    assert.equal("gone", assert(hangup.begin(c, ex.Id)).how)
    assert.is_true(assert(hangup.begin(c, ex.Id)):poll())
  end)

  it("says so when it cannot reach an exec elsewhere that has no marker", function()
    local tc = helpers.engine { host = helpers.tls_host, tls_verify = true, cert_path = helpers.tls .. "/client" }
    local ex = assert(tc:exec_create(id, { Cmd = { "sleep", "994" } }))
    assert(tc:request("POST", "/exec/" .. ex.Id .. "/start", { body = { Detach = true } }))
    wait_for(c, id, { "sleep 300", "sleep 994" })
    assert.same({ nil, "the exec runs on an engine elsewhere and carries no session marker", "config" },
      { hangup.hangup(tc, ex.Id) })
    assert.same({ true, "local" }, { hangup.hangup(c, ex.Id) })
    wait_for(c, id, { "sleep 300" })
    tc:close()
  end)
end)
