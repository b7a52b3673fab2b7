-- Hijacked streams on their own: what a script gets from attach_socket and exec_socket.
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"
local helpers = require "helpers"

-- Where the Lua has to-be-closed variables (5.4+): opens a value with open(), uses it with
-- use(value) in a block where it is a `local <close>`, and returns it once the block has ended.
-- The syntax is in a string, which Lua 5.1 and LuaJIT never parse.
local to_be_closed = (loadstring or load)([[
  local open, use = ...
  local kept
  do
    local v <close> = open()
    kept = v
    use(v)
  end
  return kept
]])

-- Reads until the end of the stream, waiting on its fd; returns everything.
local function read_all(s)
  local parts = {}
  while true do
    local data, err = s:read()
    if data == nil then
      assert(err == nil, err)
      return table.concat(parts)
    elseif data == false then
      core.sleep(0.005)
    else
      parts[#parts + 1] = data
    end
  end
end

for _, ep in ipairs {
  { name = "unix socket", opts = {} },
  { name = "TLS", opts = { host = helpers.tls_host, tls_verify = true, cert_path = helpers.tls .. "/client" } },
} do
  describe("streams over the " .. ep.name .. " #engine", function()
    local c

    setup(function() c = helpers.engine(ep.opts) end)
    teardown(function()
      if c then helpers.cleanup(c); c:close() end
    end)

    it("carry input to a tty, and output until the end", function()
      local id = helpers.container(c, { Cmd = { "sh", "-c", "cat; echo after-eof" }, Tty = true,
        OpenStdin = true, StdinOnce = true })
      local s = assert(c:attach_socket(id, { stdin = true }))
      local fd = s:fileno()
      if math.type then
        assert.equal("integer", math.type(fd))
      else -- Lua 5.1, LuaJIT: one number type
        assert.is_number(fd)
        assert.equal(math.floor(fd), fd)
      end
      assert.is_true(fd >= 0)
      assert(c:start(id))
      assert.is_true(s:write("typed\n\4")) -- ctrl-d at the start of a line: the tty ends input
      local out = read_all(s)
      assert.matches("typed", out)
      assert.matches("after%-eof", out)
      assert.is_nil(s:read()) -- the end stays the end
      s:close()
      s:close() -- closing twice is harmless
      assert.has_error(function() s:read() end)
    end)

    it("half-close a multiplexed stream", function()
      local id = helpers.container(c, { Cmd = { "sh", "-c", "wc -c; echo done >&2" },
        OpenStdin = true, StdinOnce = true })
      local s = assert(c:attach_socket(id, { stdin = true }))
      assert(c:start(id))
      assert.is_true(s:write(string.rep("x", 100000)))
      assert.is_true(s:close_write())
      local frames = assert(core.demux():feed(read_all(s)))
      local out, err = {}, {}
      for _, f in ipairs(frames) do
        if f[1] == 1 then out[#out + 1] = f[2] else err[#err + 1] = f[2] end
      end
      assert.equal("100000\n", table.concat(out))
      assert.equal("done\n", table.concat(err))
      s:close()
    end)

    it("start an exec and carry its output", function()
      local id = helpers.container(c, { Cmd = { "sleep", "300" } })
      assert(c:start(id))
      local ex = assert(c:exec_create(id, { Cmd = { "echo", "from-exec" }, AttachStdout = true, Tty = true }))
      local s
      if to_be_closed then
        -- Lua 5.4: the stream is a to-be-closed variable, closed when its block ends
        s = to_be_closed(function() return assert(c:exec_socket(ex.Id, { tty = true })) end,
          function(stream) assert.equal("from-exec\r\n", read_all(stream)) end)
      else
        s = assert(c:exec_socket(ex.Id, { tty = true }))
        assert.equal("from-exec\r\n", read_all(s))
        s:close()
      end
      assert.has_error(function() s:read() end) -- closed
      assert.equal(0, assert(c:exec_inspect(ex.Id)).ExitCode)
    end)

    it("report the engine's refusal", function()
      local s, err, code = c:attach_socket("dockerpty-no-such-container")
      assert.is_nil(s)
      assert.equal("No such container: dockerpty-no-such-container", err)
      assert.equal(404, code)
      s, err, code = c:exec_socket("dockerpty-no-such-exec")
      assert.is_nil(s)
      assert.equal(404, code)
      assert.equal("No such exec instance: dockerpty-no-such-exec", err)
    end)
  end)
end

describe("streams without an engine", function()
  it("report a connection that fails, naming the endpoint", function()
    local c = assert(dockerpty.client { host = "unix:///nonexistent.sock", api_version = "1.41" })
    local s, err, code = c:attach_socket("x")
    assert.is_nil(s)
    assert.equal("cannot connect to unix:///nonexistent.sock: No such file or directory", err)
    assert.equal("connect", code)
  end)

  it("refuse numbers the core would have to narrow, and options of the wrong type", function()
    assert.has_error(function() core.transport { base = "http://x", ca_file = 1234567.25 } end,
      "transport: ca_file must be a string")
    assert.has_error(function() core.transport { base = "http://x", timeout = 0 / 0 } end,
      "transport: timeout out of range")
    assert.has_error(function() core.transport { base = 5 } end, "transport: base must be a string")
    assert.same({}, core.poll({ { -1, "r" } }, 0)) -- a negative fd is skipped, as poll() skips it
    for _, f in ipairs { function() core.poll({ { 2 ^ 32 + 1, "r" } }, 0) end,
      function() core.poll({}, 2 ^ 32) end, function() core.isatty(-5) end,
      function() core.read(0, 1, 2 ^ 32 - 1) end, function() core.sleep(0 / 0) end,
      function() core.raise(2 ^ 32 + 15) end } do
      local ok, err = pcall(f)
      assert.is_false(ok)
      assert.matches("out of range", err)
    end
  end)
end)

describe("the pump in host-loop mode #engine", function()
  it("is driven by non-blocking steps until the end, with the fds to watch", function()
    local c = helpers.engine()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "sleep 0.5; echo stepped; echo more" } })
    local s = assert(c:attach_socket(id))
    assert(c:start(id))
    local name = os.tmpname()
    local f = assert(io.open(name, "wb"))
    local pump = core.pump(s, { stdout = core.fileno(f), stderr = core.fileno(f), tty = false })
    local idles, saw_fd = 0, false
    while true do
      local ev = assert(pump:run(0))
      if ev == "end" then break end
      assert.equal("idle", ev)
      idles = idles + 1
      for _, w in ipairs(pump:fds()) do
        if w[1] == s:fileno() and w[2] == "r" then saw_fd = true end
      end
      core.sleep(0.01)
    end
    assert.equal("end", pump:run(0)) -- the end stays the end
    f:close()
    local fr = assert(io.open(name, "rb"))
    assert.equal("stepped\nmore\n", fr:read("a"))
    fr:close()
    os.remove(name)
    assert.is_true(idles > 5)
    assert.is_true(saw_fd)
    s:close()
    helpers.cleanup(c)
    c:close()
  end)
end)
