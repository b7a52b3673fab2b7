-- The engine client: its pure parts, then every method against the real engine.
local dockerpty = require "dockerpty"
local client = require "dockerpty.client"
local helpers = require "helpers"

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
    local id = helpers.container(c, { Cmd = { "sh", "-c", "exit 7" } }, { name = "dockerpty-spec-roundtrip" })
    assert.matches("^%x+$", id)
    local info = assert(c:inspect_container("dockerpty-spec-roundtrip"))
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
    local running = assert(c:containers { filters = { label = { "dockerpty.spec.list=yes" } } })
    assert.equal(0, #running)
    local all = assert(c:containers { all = true, filters = { label = { "dockerpty.spec.list=yes" } } })
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
