-- The engine client: its pure parts, then every method against the real engine.
local dockerpty = require "dockerpty"
local client = require "dockerpty.client"
local helpers = require "helpers"
local core = require "dockerpty.core"

-- A count or code from the engine: an integer in Lua 5.3+; in Lua 5.1 and LuaJIT, whose one
-- number type is a double, a whole number.
local function assert_whole(n)
  if math.type then
    assert.equal("integer", math.type(n))
  else
    assert.is_number(n)
    assert.equal(math.floor(n), n)
  end
end

describe("client without an engine", function()
  it("builds query strings with sorted keys, booleans as 1/0 and tables as JSON", function()
    assert.equal("", client.query_string(nil))
    assert.equal("", client.query_string({}))
    assert.equal("?all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D&size=0",
      client.query_string { size = false, all = true, filters = { label = { "a=b" } } })
    assert.equal("?h=24&w=80", client.query_string { w = 80, h = 24 })
  end)

  it("escapes a whole . or .. segment, which libcurl would take as a step of the path", function()
    assert.equal("%2E", client.escape("."))
    assert.equal("%2E%2E", client.escape(".."))
    assert.equal("a.b", client.escape("a.b"))
    assert.equal("...", client.escape("..."))
  end)

  it("chooses the engine's API version within the supported range", function()
    assert.equal("1.41", client.choose_version("1.41", "x"))
    assert.equal(client.MAX_API_VERSION, client.choose_version("1.99", "x"))
    local v, err, code = client.choose_version("1.29", "unix:///x.sock")
    assert.is_nil(v)
    assert.equal("version", code)
    assert.equal("the engine at unix:///x.sock speaks API 1.29; dockerpty needs 1.30 or newer", err)
    v, err = client.choose_version(nil, "unix:///x.sock")
    assert.is_nil(v)
    assert.matches("did not state its API version", err)
  end)

  it("refuses a bad API version asked for", function()
    local c, err, code = dockerpty.client { api_version = "one" }
    assert.is_nil(c)
    assert.equal("config", code)
    assert.equal('invalid API version "one": expected a form like 1.41', err)
    c, err = dockerpty.client { api_version = "1.20" }
    assert.is_nil(c)
    assert.equal("API version 1.20 is older than 1.30, the oldest dockerpty supports", err)
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() dockerpty.client(5) end)
    assert.has_error(function() dockerpty.client { host = 5 } end)
    assert.has_error(function() dockerpty.client { tls_verify = "yes" } end)
    for _, bad in ipairs { "x", -1, 0 / 0, 1e300 } do
      assert.has_error(function() dockerpty.client { timeout = bad } end,
        "bad argument #1 to 'client' (timeout must be a number of seconds from 0 to 2147483)")
    end
    -- 0 would be libcurl's default of 300 s, not "at once" or "never"
    for _, bad in ipairs { "x", -1, 0, 0 / 0, 1e300 } do
      assert.has_error(function() dockerpty.client { connect_timeout = bad } end,
        "bad argument #1 to 'client' (connect_timeout must be a number of seconds from 0.001 to 2147483)")
    end
    for _, bad in ipairs { "x", -1, 0 / 0, 1e300 } do
      assert.has_error(function() dockerpty.client { max_body = bad } end,
        "bad argument #1 to 'client' (max_body must be a number of bytes from 1 to 2^50)")
    end
    local c = assert(dockerpty.client { host = "unix:///nonexistent.sock" })
    assert.has_error(function() c:start(42) end, "bad argument #1 to 'start' (a non-empty string expected)")
    assert.has_error(function() c:start("") end)
    assert.has_error(function() c:create_container("x") end)
    assert.has_error(function() c:resize("x", 0, 80) end)
    assert.has_error(function() c:resize("x", 24, 1.5) end)
    assert.has_error(function() c:request("GET", "no-slash") end)
    assert.has_error(function() c:request("POST", "/x", { body = 5 }) end)
    assert.has_error(function() c:kill("x", {}) end)
    assert.has_error(function() c:stop("x", { t = "soon" }) end, "bad argument #2 to 'stop' (t must be a whole number of seconds)")
    assert.has_error(function() c:restart("x", 5) end)
    assert.has_error(function() c:pause("") end)
    assert.has_error(function() c:logs("x", { tail = -1 }) end, 'bad argument #2 to \'logs\' (tail must be a count or "all")')
    assert.has_error(function() c:logs("x", { on_output = "print" }) end)
    c:close()
    assert.has_error(function() c:ping() end, "transport to unix:///nonexistent.sock is closed")
    c:close() -- closing twice is harmless
  end)

  it("reports a missing unix socket naming the endpoint", function()
    local c = assert(dockerpty.client { host = "unix:///nonexistent/docker.sock" })
    local ok, err, code = c:version()
    assert.is_nil(ok)
    assert.equal("cannot connect to unix:///nonexistent/docker.sock: No such file or directory", err)
    assert.equal("connect", code)
  end)

  it("reports a refused TCP port naming the endpoint", function()
    local c = assert(dockerpty.client { host = "tcp://127.0.0.1:1" })
    local ok, err, code = c:ping()
    assert.is_nil(ok)
    assert.equal("cannot connect to tcp://127.0.0.1:1: Connection refused", err)
    assert.equal("connect", code)
  end)

  it("reports a malformed DOCKER_HOST from the environment", function()
    local out, status = helpers.run_lua([[
      local c, err, code = require("dockerpty").client()
      print(c, err, code)]], { DOCKER_HOST = "tcp//oops" })
    assert.equal(0, status)
    assert.equal('nil\tinvalid engine host "tcp//oops": expected unix:///path or tcp://host:port\tconfig\n', out)
  end)
end)

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

describe("client deadlines", function()
  it("give every ordinary request a finite default, which the timeout option overrides", function()
    assert.equal(60, client.TIMEOUT)
    local c = assert(dockerpty.client { host = "unix:///nonexistent.sock" })
    assert.equal(client.TIMEOUT, c.timeout)
    c:close()
    c = assert(dockerpty.client { host = "unix:///nonexistent.sock", timeout = 0 })
    assert.equal(0, c.timeout) -- none, asked for
    c:close()
  end)

  it("end a request to an engine that never answers with a timeout", function()
    local host, stop = mute("silent")
    finally(stop)
    local c = assert(dockerpty.client { host = host, timeout = 1, api_version = "1.41" })
    local now = require("dockerpty.core").monotime
    local t0 = now()
    local ok, err, code = c:ping()
    assert.is_nil(ok)
    assert.equal("timeout", code)
    assert.matches("^timed out talking to " .. host:gsub("%p", "%%%0"), err)
    ok, err, code = c:containers()
    assert.is_nil(ok, err)
    assert.equal("timeout", code)
    assert.is_true(now() - t0 < 20) -- ended, rather than hung
    c:close()
    -- a request's own deadline, on a client with the default
    c = assert(dockerpty.client { host = host, api_version = "1.41" })
    t0 = now()
    ok, err, code = c:request("GET", "/info", { timeout = 0.5 })
    assert.is_nil(ok, err)
    assert.equal("timeout", code)
    assert.is_true(now() - t0 < 20)
    assert.has_error(function() c:request("GET", "/info", { timeout = -1 }) end,
      "bad argument #3 to 'request' (timeout must be a number of seconds from 0 to 2147483)")
    c:close()
  end)

  it("end a cooperative request at its deadline, the waiting left to the caller", function()
    local host, stop = mute("silent")
    finally(stop)
    local c = assert(dockerpty.client { host = host, timeout = 0.5, api_version = "1.41" })
    local waits = 0
    local coop = c:cooperative(function(fd, deadline)
      waits = waits + 1
      local left = math.max(0, deadline - core.monotime())
      return next(core.poll({ { fd, "r" } }, math.ceil(left * 1000))) ~= nil
    end)
    local ok, err, code = coop:containers()
    assert.is_nil(ok)
    assert.equal("timeout", code)
    assert.equal("timed out talking to " .. host .. ": no answer within 0.5 s", err)
    assert.is_true(waits >= 1)
    c:close()
    -- an upgrade whose answer's head comes a byte at a time and never ends
    local thost, tstop = mute("trickle")
    finally(tstop)
    c = assert(dockerpty.client { host = thost, timeout = 1, api_version = "1.41" })
    coop = c:cooperative(function(fd, deadline)
      waits = waits + 1
      local left = math.max(0, deadline - core.monotime())
      return next(core.poll({ { fd, "r" } }, math.ceil(left * 1000))) ~= nil
    end)
    waits = 0
    ok, err, code = coop:exec_socket("abc")
    assert.is_nil(ok)
    assert.equal("timeout", code)
    assert.equal("timed out talking to " .. thost .. ": no answer within 1 s", err)
    assert.is_true(waits >= 3, "the head came in pieces")
    c:close()
  end)

  it("read a cooperative answer to its Content-Length, and say one cut short, as the transport does", function()
    local function poll_wait(fd, deadline)
      return next(core.poll({ { fd, "r" } }, math.ceil(math.max(0, deadline - core.monotime()) * 1000))) ~= nil
    end
    for _, mode in ipairs { "whole", "short" } do
      local host, stop = mute(mode)
      finally(stop)
      local c = assert(dockerpty.client { host = host, timeout = 2, api_version = "1.41" })
      local plain = { c:raw("GET", "/v1.41/info") }
      local coop = { c:cooperative(poll_wait):raw("GET", "/v1.41/info") }
      if mode == "whole" then
        -- the answer ends at its length, though the connection stays open
        assert.equal(200, coop[1])
        assert.equal(plain[2], coop[2])
        assert.equal(100, #coop[2])
        assert.equal("application/json", coop[3]["content-type"])
        assert.equal(plain[3]["x-twice"], coop[3]["x-twice"])
      else
        assert.is_nil(plain[1])
        assert.same({ nil, ("%s closed the connection before the whole answer"):format(host), "transport" }, coop)
      end
      c:close()
    end
  end)

  it("end logs that are not followed when the engine stops sending them", function()
    local host, stop = mute("logs")
    finally(stop)
    local c = assert(dockerpty.client { host = host, timeout = 1, api_version = "1.41" })
    local now = require("dockerpty.core").monotime
    local t0 = now()
    local ok, err, code = c:logs("web")
    assert.is_nil(ok)
    assert.equal("timeout", code)
    assert.equal("timed out talking to " .. host .. ": no end to the logs of web within 1 s", err)
    assert.is_true(now() - t0 < 20)
    c:close()
  end)
end)

describe("client deadlines against the engine #engine", function()
  it("do not cut short a wait, nor a stop that the engine makes wait t seconds", function()
    local c = helpers.engine { timeout = 1 }
    finally(function() helpers.cleanup(c); c:close() end)
    local id = helpers.container(c, { Cmd = { "sleep", "3" } })
    assert(c:start(id))
    local r, err, code = c:wait(id)
    assert.is_table(r, tostring(err) .. " " .. tostring(code))
    assert.equal(0, r.StatusCode)
    -- sleep as PID 1 ignores SIGTERM: the engine answers after t = 2 s, past the client's 1
    id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
    assert.is_true(c:stop(id, { t = 2 }))
    assert.equal(137, assert(c:inspect_container(id)).State.ExitCode)
  end)
end)

describe("client against the engine #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("negotiates the engine's API version and uses versioned paths", function()
    local v = assert(c:negotiate())
    local engine = assert(c:version())
    assert.equal(client.choose_version(engine.ApiVersion, "x"), v)
    assert.matches("^%d+%.%d+$", v)
    local status = c:request("GET", "/info", { raw = true })
    assert.equal(200, status)
  end)

  it("speaks the API version asked for, from an option or DOCKER_API_VERSION", function()
    local c2 = helpers.engine { api_version = "1.30" }
    assert.equal("1.30", c2:negotiate())
    assert.is_table(assert(c2:info()))
    c2:close()
    local out = helpers.run_lua([[
      local c = assert(require("dockerpty").client())
      print(c:negotiate(), c:ping())]], { DOCKER_API_VERSION = "1.35" })
    assert.equal("1.35\ttrue\n", out)
  end)

  it("reuses one connection across requests", function()
    local c2 = helpers.engine()
    for _ = 1, 10 do assert(c2:info()) end
    assert.equal(1, c2:connections())
    c2:close()
  end)

  it("pings, and reads version and info", function()
    assert.is_true(c:ping())
    local v = assert(c:version())
    assert.is_string(v.Version)
    local info = assert(c:info())
    assert_whole(info.Containers)
  end)

  it("creates, starts, waits for, inspects and removes a container", function()
    local name = "dockerpty-spec-roundtrip-" .. helpers.run_id -- the run's own: runs sharing an engine never collide
    local id = helpers.container(c, { Cmd = { "sh", "-c", "exit 7" } }, { name = name })
    assert.matches("^%x+$", id)
    local info = assert(c:inspect_container(name))
    assert.equal(id, info.Id)
    assert.is_false(info.State.Running)
    assert.is_true(c:start(id))
    local r = assert(c:wait(id))
    assert.equal(7, r.StatusCode)
    assert_whole(r.StatusCode)
    info = assert(c:inspect_container(id))
    assert.equal("exited", info.State.Status)
    assert.equal(7, info.State.ExitCode)
    assert.is_true(c:remove_container(id))
    local gone, err, code = c:inspect_container(id)
    assert.is_nil(gone)
    assert.equal(404, code)
    assert.equal("No such container: " .. id, err)
  end)

  it("lists containers with all and filters", function()
    local id = helpers.container(c, { Cmd = { "true" }, Labels = { ["dockerpty.spec.list"] = "yes" } })
    local running = assert(c:containers { filters = { label = { "dockerpty.spec.list=yes", helpers.label } } })
    assert.equal(0, #running)
    local all = assert(c:containers { all = true, filters = { label = { "dockerpty.spec.list=yes", helpers.label } } })
    assert.equal(1, #all)
    assert.equal(id, all[1].Id)
    assert.equal("created", all[1].State)
  end)

  it("kills a running container and removes it with force", function()
    local id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
    assert.is_true(c:start(id)) -- already started: 304, still fine
    assert.is_true(c:kill(id, "SIGKILL"))
    assert.equal(137, assert(c:wait(id)).StatusCode)
    id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
    local ok, err, code = c:remove_container(id)
    assert.is_nil(ok)
    assert.equal(409, code)
    assert.matches("running container", err)
    assert.is_true(c:remove_container(id, { force = true, v = true }))
  end)

  it("resizes a container's tty", function()
    local id = helpers.container(c, { Tty = true, OpenStdin = true,
      Cmd = { "sh", "-c", "sleep 1; stty size" } })
    assert(c:start(id))
    assert.is_true(c:resize(id, 33, 101))
    assert.equal(0, assert(c:wait(id)).StatusCode)
    local logs = assert(c:request("GET", "/containers/" .. id .. "/logs", { query = { stdout = true } }))
    assert.equal("33 101", logs:match("^%s*(.-)%s*$"))
  end)

  it("creates and inspects an exec, with null fields as dockerpty.null", function()
    local id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
    local ex = assert(c:exec_create(id, { Cmd = { "echo", "hi" }, AttachStdout = true, Tty = true }))
    assert.matches("^%x+$", ex.Id)
    local info = assert(c:exec_inspect(ex.Id))
    assert.equal(id, info.ContainerID)
    assert.is_false(info.Running)
    assert.equal(dockerpty.null, info.ExitCode)
    assert.same({ "hi" }, info.ProcessConfig.arguments)
    local _, err, code = c:exec_inspect("nosuchexec")
    assert.equal(404, code)
    assert.equal("No such exec instance: nosuchexec", err)
    _, err, code = c:exec_resize("nosuchexec", 24, 80)
    assert.equal(404, code)
    assert.equal("No such exec instance: nosuchexec", err)
  end)

  it("sends no request that . or .. would change, and says no container is named so", function()
    local want = 'invalid reference "%s": no container, image or exec is named . or ..'
    local id = helpers.container(c, { Cmd = { "true" } })
    for _, ref in ipairs { ".", ".." } do
      for _, call in ipairs {
        function() return c:inspect_container(ref) end,
        function() return c:remove_container(ref, { force = true }) end,
        function() return c:start(ref) end,
        function() return c:logs(ref) end,
        function() return c:wait_later(ref) end,
        function() return c:start_later(ref) end,
        function() return c:attach_socket(ref) end,
        function() return c:exec_inspect(ref) end,
        function() return c:request("GET", "/containers/" .. client.escape(ref) .. "/json") end,
        function() return c:request("GET", "/containers/" .. ref .. "/json") end,
        function() return c:post_later("/containers/" .. ref .. "/stop") end,
      } do
        local r, err, code = call()
        assert.is_nil(r)
        assert.equal(want:format(ref), err)
        assert.equal(404, code)
      end
    end
    assert.equal(id, assert(c:inspect_container(id)).Id) -- nothing else was removed
  end)

  it("passes the engine's own message for a 404", function()
    local ok, err, code = c:inspect_container("dockerpty-no-such-container")
    assert.is_nil(ok)
    assert.equal("No such container: dockerpty-no-such-container", err)
    assert.equal(404, code)
    ok, err, code = c:request("GET", "/no/such/endpoint")
    assert.is_nil(ok)
    assert.equal(404, code)
    assert.equal("page not found", err)
    ok, err, code = c:create_container { Image = "dockerpty-no-such-image" }
    assert.is_nil(ok)
    assert.equal(404, code)
    assert.matches("No such image: dockerpty%-no%-such%-image", err)
  end)

  it("sends a string body as it is and reports the engine's answer to one that is not JSON", function()
    local ok, err, code = c:request("POST", "/containers/create", { body = "this is not JSON" })
    assert.is_nil(ok)
    assert.is_true(code >= 400 and code < 600)
    assert.matches("invalid character", err)
  end)

  it("returns an answer that is not JSON as a string", function()
    assert.equal("OK", c:request("GET", "/_ping"))
  end)

  it("answers an empty GET with an empty string, and any other empty answer with true", function()
    local id = helpers.container(c, { Cmd = { "true" } })
    assert.equal("", c:request("GET", "/containers/" .. id .. "/logs", { query = { stdout = true } }))
    assert.is_true(c:request("POST", "/containers/" .. id .. "/start"))
  end)

  it("reads logs with stdout and stderr apart, a tty's as one stream", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "echo out1; echo err1 >&2; echo out2" } })
    assert(c:start(id))
    assert.equal(0, assert(c:wait(id)).StatusCode)
    assert.same({ "out1\nout2\n", "err1\n" }, { c:logs(id) })
    local counted = helpers.container(c, { Cmd = { "sh", "-c", "echo 1; echo 2; echo 3" } })
    assert(c:start(counted))
    assert(c:wait(counted))
    assert.same({ "2\n3\n", "" }, { c:logs(counted, { tail = 2 }) })
    assert.same({ "out1\nout2\n", "" }, { c:logs(id, { stderr = false }) })
    assert.same({ "", "" }, { c:logs(id, { since = os.time() + 3600 }) })
    local out, err = c:logs(id, { timestamps = true, tail = "all" })
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z out1\n%d%d%d%d%-[^ ]+ out2\n$", out)
    assert.matches("^%d%d%d%d%-[^ ]+ err1\n$", err)
    local tty = helpers.container(c, { Tty = true, Cmd = { "sh", "-c", "echo a; echo b >&2" } })
    assert(c:start(tty))
    assert(c:wait(tty))
    assert.same({ "a\r\nb\r\n", "" }, { c:logs(tty) })
    local none, msg, code = c:logs("dockerpty-no-such-container")
    assert.same({ nil, "No such container: dockerpty-no-such-container", 404 }, { none, msg, code })
  end)

  it("follows logs as they come, until the container stops", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "echo first; sleep 1; echo second >&2; sleep 0.5" } })
    assert(c:start(id))
    local pieces, running_at_first = {}, nil
    local ok = assert(c:logs(id, { follow = true, on_output = function(data, stream)
      pieces[#pieces + 1] = stream .. ":" .. data
      if #pieces == 1 then running_at_first = assert(c:inspect_container(id)).State.Running end
    end }))
    assert.is_true(ok)
    assert.same({ "stdout:first\n", "stderr:second\n" }, pieces)
    assert.is_true(running_at_first) -- the first line came while the container still ran
    assert.is_false(assert(c:inspect_container(id)).State.Running)
    -- an error in on_output comes out of logs, the connection closed
    assert.has_error(function() c:logs(id, { on_output = function() error("stop here", 0) end }) end, "stop here")
    assert.equal("", select(2, c:logs(id, { stdout = false })):gsub("second\n", ""))
  end)

  it("bounds the logs it keeps by max_body, and not those it hands on", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo; echo e >&2" } })
    assert(c:start(id))
    assert.equal(0, assert(c:wait(id)).StatusCode)
    local small = helpers.engine { max_body = 100000 }
    finally(function() small:close() end)
    local out, err, code = small:logs(id)
    assert.is_nil(out)
    assert.equal("too_large", code)
    assert.equal(("the logs of %s from unix:///var/run/docker.sock are larger than 100000 bytes"):format(id), err)
    local seen = 0
    assert.is_true(small:logs(id, { on_output = function(data) seen = seen + #data end }))
    assert.equal(300003, seen)
    out, err = assert(c:logs(id))
    assert.equal(300001, #out)
    assert.equal("e\n", err)
  end)

  it("stops, restarts, pauses and unpauses a container", function()
    local id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
    assert.is_true(c:pause(id))
    assert.is_true(assert(c:inspect_container(id)).State.Paused)
    local ok, err, code = c:pause(id)
    assert.is_nil(ok)
    assert.equal(409, code)
    assert.matches("already paused", err)
    assert.is_true(c:unpause(id))
    assert.is_false(assert(c:inspect_container(id)).State.Paused)
    local started = assert(c:inspect_container(id)).State.StartedAt
    assert.is_true(c:restart(id, { t = 0 }))
    local info = assert(c:inspect_container(id))
    assert.is_true(info.State.Running)
    assert.are_not.equal(started, info.State.StartedAt)
    assert.is_true(c:stop(id, { t = 1 })) -- sleep as PID 1 ignores SIGTERM: killed after 1 s
    info = assert(c:inspect_container(id))
    assert.is_false(info.State.Running)
    assert.equal(137, info.State.ExitCode)
    assert.is_true(c:stop(id)) -- stopped already: no error, as the engine's 304 says
    assert.is_true(c:stop(id, { t = -5 })) -- any whole number is the engine's to read, as docker's -t
    ok, err, code = c:unpause(id)
    assert.is_nil(ok)
    assert.is_true(code >= 400) -- 500 from engines of API 1.41
    assert.matches("not paused", err)
  end)

  it("round-trips a large JSON body", function()
    local labels = {}
    for i = 1, 2000 do labels["dockerpty.spec.big." .. i] = string.rep(string.char(97 + i % 26), 500) end
    local id = helpers.container(c, { Cmd = { "true" }, Labels = labels })
    local info = assert(c:inspect_container(id))
    for i = 1, 2000 do
      assert.equal(labels["dockerpty.spec.big." .. i], info.Config.Labels["dockerpty.spec.big." .. i])
    end
  end)

  it("refuses to encode a body nested too deep, before sending it", function()
    local body = { Image = "busybox" }
    local cur = body
    for _ = 1, 300 do cur.x = {}; cur = cur.x end
    assert.has_error(function() c:create_container(body) end,
      "cannot encode to JSON: nested too deep (or a table contains itself)")
  end)

  -- A loop of coroutines over core.poll, as dockerpty serve's is over its gateway: each task
  -- yields the descriptor it waits on, and the loop resumes it once that is readable.
  local function scheduler()
    local tasks = {}
    local coop = c:cooperative(function(fd, deadline) return coroutine.yield(fd, deadline) end)
    local function run()
      while next(tasks) do
        local list = {}
        for _, fd in pairs(tasks) do list[#list + 1] = { fd, "r" } end
        local ready = core.poll(list, 10000)
        assert(next(ready), "no answer within 10 s")
        for co, fd in pairs(tasks) do
          if ready[fd] then
            local ok, next_fd = coroutine.resume(co, true)
            assert(ok, next_fd)
            tasks[co] = coroutine.status(co) ~= "dead" and next_fd or nil
          end
        end
      end
    end
    local function spawn(fn)
      local co = coroutine.create(fn)
      local ok, fd = coroutine.resume(co)
      assert(ok, fd)
      if coroutine.status(co) ~= "dead" then tasks[co] = fd end
    end
    return coop, spawn, run
  end

  it("answers through a cooperative view as it does itself, tasks in turn", function()
    local coop, spawn, run = scheduler()
    local id = helpers.container(c, { Cmd = { "sleep", "60" } })
    assert(c:start(id))
    local got = {}
    spawn(function()
      got.inspect = coop:inspect_container(id)
      got.missing = { coop:inspect_container("no-such-" .. helpers.run_id) }
      local ex = assert(coop:exec_create(id, { Cmd = { "sh", "-c", "echo out; echo err >&2" },
        AttachStdout = true, AttachStderr = true }))
      local stream = assert(coop:exec_socket(ex.Id))
      local bytes = {}
      while true do
        local data = stream:read(65536, 0)
        if data == nil then break end
        if data == false then coroutine.yield(stream:fileno()) else bytes[#bytes + 1] = data end
      end
      stream:close()
      got.output = table.concat(bytes)
      got.bad_exec = { coop:exec_socket("no-such-exec") }
      got.exit = coop:exec_inspect(ex.Id).ExitCode
    end)
    spawn(function() got.list = coop:containers { all = true } end)
    run()
    assert.equal(id, got.inspect.Id)
    assert.same({ c:inspect_container("no-such-" .. helpers.run_id) }, got.missing)
    assert.matches("out\n", got.output)
    assert.matches("err\n", got.output)
    assert.same({ c:exec_socket("no-such-exec") }, got.bad_exec)
    assert.equal(0, got.exit)
    local listed = false
    for _, e in ipairs(got.list) do listed = listed or e.Id == id end
    assert.is_true(listed)
  end)

  it("bounds the size of an answer, through a cooperative view too", function()
    local small = helpers.engine { max_body = 100 }
    local coop = small:cooperative(function(fd)
      return next(core.poll({ { fd, "r" } }, 10000)) ~= nil
    end)
    local ok, err, code = coop:info()
    assert.is_nil(ok)
    assert.equal("too_large", code)
    assert.equal("response from unix:///var/run/docker.sock is larger than 100 bytes", err)
    small:close()
  end)

  it("bounds the size of an answer", function()
    local small = helpers.engine { max_body = 100 }
    local ok, err, code = small:info()
    assert.is_nil(ok)
    assert.equal("too_large", code)
    assert.equal("response from unix:///var/run/docker.sock is larger than 100 bytes", err)
    assert.is_true(small:ping()) -- the client is still usable
    small:close()
  end)
end)
