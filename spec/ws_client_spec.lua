-- core.ws_connect, the client of dockerpty connect, against an independent server: Node's ws
-- package (spec/support/wsserver.js), over plain TCP and TLS.
local core = require "dockerpty.core"
local helpers = require "helpers"

local q = helpers.shell_quote
local TLS = helpers.tls

local function slurp(path)
  local f = io.open(path)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  return text
end

-- The server, running until stop(); lines() is what it printed, as tables.
local function server(tls)
  local out = os.tmpname()
  local args = tls and (" %s %s"):format(q(TLS .. "/server-cert.pem"), q(TLS .. "/server-key.pem")) or ""
  local p = assert(io.popen(("node spec/support/wsserver.js%s >%s 2>&1"):format(args, q(out)), "w"))
  local self = {}
  function self.lines()
    local got = {}
    for l in slurp(out):gmatch("[^\n]+") do got[#got + 1] = core.json_decode(l) or { ev = "text", data = l } end
    return got
  end
  function self.find(ev, pred)
    for _, l in ipairs(self.lines()) do
      if l.ev == ev and (not pred or pred(l)) then return l end
    end
  end
  function self.wait(ev, pred)
    local deadline = core.monotime() + 10
    while not self.find(ev, pred) do
      assert(core.monotime() < deadline, "the server never said " .. ev .. ": " .. slurp(out))
      core.sleep(0.02)
    end
    return self.find(ev, pred)
  end
  function self.stop()
    p:close()
    os.remove(out)
  end
  local deadline = core.monotime() + 10
  while not self.lines()[1] do
    assert(core.monotime() < deadline, "the server did not start: " .. slurp(out))
    core.sleep(0.02)
  end
  self.port = assert(self.lines()[1].port, slurp(out))
  return self
end

describe("core.ws_connect against Node's ws #memcheck", function()
  local srv
  before_each(function() srv = server(false) end)
  after_each(function() srv.stop() end)
  local function url(path) return "ws://127.0.0.1:" .. srv.port .. path end

  it("sends its token and subprotocols, and carries messages of any size both ways", function()
    local ws = assert(core.ws_connect(url("/echo"), { token = "t0ken", protocols = { "v5.channel.k8s.io", "x" } }))
    assert.equal("v5.channel.k8s.io", ws:protocol())
    local req = srv.wait("request")
    assert.same({ "/echo", "Bearer t0ken", "v5.channel.k8s.io, x" }, { req.path, req.authorization, req.protocols })
    local big = {}
    for i = 1, 300000 do big[i] = string.char(i % 256) end
    big = table.concat(big)
    for _, m in ipairs { { 0, "abc" }, { 0, "" }, { 4, '{"Width":80,"Height":24}' }, { 0, big } } do
      assert(ws:send(m[1], m[2], 10))
      local ch, data = ws:read(10)
      assert.equal(m[1], ch)
      assert.equal(#m[2], #data)
      assert.is_true(data == m[2])
    end
    assert(ws:send(255, "\0"))
    srv.wait("msg", function(l) return l.hex == "ff00" end)
    ws:close(1000, "done")
    local closed = srv.wait("close")
    assert.same({ 1000, "done" }, { closed.code, closed.reason })
  end)

  it("sends what it queued before its close, all of it, then the close #heavy", function()
    local ws = assert(core.ws_connect(url("/count")))
    srv.wait("request")
    local chunk = ("z"):rep(1024 * 1024)
    local queued = 0
    for _ = 1, 16 do -- what the socket does not take now stays queued: the server reads nothing yet
      local ok, err = ws:send(0, chunk, 0)
      assert(ok or err:find("^timed out"), err)
      if not ok then queued = queued + 1 end
    end
    assert.is_true(queued > 0, "the socket took 16 MiB at once: nothing was left to send before the close")
    ws:close(1000, "done")
    local closed = srv.wait("close")
    assert.same({ 1000, "done" }, { closed.code, closed.reason })
    local sum = 0
    for _, l in ipairs(srv.lines()) do if l.ev == "msg" then sum = sum + l.len end end
    assert.equal(16 * (1024 * 1024 + 1), sum)
  end)

  it("reassembles a fragmented message, answers a ping, and reads the server's close code", function()
    local ws = assert(core.ws_connect(url("/script")))
    assert.is_nil(ws:protocol())
    assert.same({ 1, "hello world" }, { ws:read(10) })
    assert.same({ 2, "x" }, { ws:read(10) })
    assert.same({ nil, "closed", 4001, "bye" }, { ws:read(10) })
    srv.wait("pong")
    ws:close()
    assert.equal(4001, srv.wait("close").code)
  end)

  it("refuses a message over its max_message with 1009", function()
    local ws = assert(core.ws_connect(url("/big"), { max_message = 1024 * 1024 }))
    local r = { ws:read(10) }
    assert.same({ nil, "closed", 1009 }, { r[1], r[2], r[3] })
    ws:close()
    -- the server sees the 1009, or a reset when the rest of its message, unread, was still
    -- on its way in as the socket closed
    local code = srv.wait("close").code
    assert.is_true(code == 1009 or code == 1006, "the server saw " .. code)
  end)

  it("reads what came before a connection that ended without a close, then says it ended", function()
    local ws = assert(core.ws_connect(url("/drop")))
    assert.same({ 1, "last" }, { ws:read(10) })
    local r = { ws:read(10) }
    assert.is_nil(r[1])
    assert.equal("closed", r[2])
    assert.equal(1006, r[3])
    ws:close()
  end)

  it("says on one line what it cannot reach", function()
    local port = srv.port
    srv.stop()
    local ws, err = core.ws_connect("ws://127.0.0.1:" .. port .. "/echo", { timeout = 2 })
    assert.is_nil(ws)
    assert.matches("^[^\n]*127%.0%.0%.1:" .. port .. "[^\n]*$", err)
    srv = server(false)
  end)
end)

describe("core.ws_connect over TLS against Node's ws #memcheck", function()
  it("verifies the server by --cacert and its name, and carries messages", function()
    local srv = server(true)
    finally(srv.stop)
    local base = "wss://localhost:" .. srv.port .. "/echo"
    local ws = assert(core.ws_connect(base, { ca_file = TLS .. "/ca/ca.pem" }))
    assert(ws:send(0, "over tls"))
    assert.same({ 0, "over tls" }, { ws:read(10) })
    ws:close(1000)
    -- no CA that signed it, or another name than its certificate's: refused. The refusal comes
    -- at once; the long bound is for loading the system's CA bundle under valgrind.
    local no, err = core.ws_connect(base, { timeout = 30 })
    assert.is_nil(no)
    assert.matches("certificate", err)
    no, err = core.ws_connect("wss://127.0.0.2:" .. srv.port .. "/echo", { ca_file = TLS .. "/ca/ca.pem", timeout = 30 })
    assert.is_nil(no)
    assert.is_string(err)
  end)
end)
