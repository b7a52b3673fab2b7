-- The gateway's C engine (src/listener.c, src/gateway.c, src/websocket.c) against real peers:
-- Node's ws package as the client (spec/support/wsclient.js, a child process), a real
-- container's exec on the other side, the loop driven here by gw:run.
local core = require "dockerpty.core"
local helpers = require "helpers"

local q = helpers.shell_quote
local TLS = helpers.tls

-- Starts the Node client (steps and options as spec/support/wsclient.js reads them); its output goes to a file read as JSON lines.
local function client(url, steps, opts)
  local out = os.tmpname()
  local p = assert(io.popen(("node spec/support/wsclient.js %s %s %s >%s 2>&1 & echo $!"):format(
    q(url), q(core.json_encode(steps or {})), q(core.json_encode(opts or {})), q(out))))
  local pid = p:read("*l")
  p:close()
  local self = { out = out, pid = pid }
  function self.lines()
    local f = io.open(out)
    local text = f and f:read("*a") or ""
    if f then f:close() end
    local got = {}
    for line in text:gmatch("[^\n]+") do
      got[#got + 1] = core.json_decode(line) or { ev = "text", data = line }
    end
    return got
  end
  function self.find(ev)
    for _, l in ipairs(self.lines()) do if l.ev == ev then return l end end
  end
  function self.done()
    local l = self.lines()
    return #l > 0 and (l[#l].ev == "done" or l[#l].ev == "end" or l[#l].ev == "response")
  end
  function self.stop()
    os.execute("kill " .. pid .. " 2>/dev/null")
    os.remove(out)
  end
  return self
end

-- Runs the gateway, handing each event to on_event, until cond() holds; fails after timeout.
local function drive(gw, cond, on_event, timeout, what)
  local deadline = os.time() + (timeout or 20)
  while not cond() do
    assert(os.time() <= deadline, "timed out waiting for " .. (what or "the client"))
    for _, ev in ipairs(gw:run(0.05)) do
      if on_event then on_event(ev) end
    end
  end
end

local function output(cl, ch)
  local parts = {}
  for _, l in ipairs(cl.lines()) do
    if l.ev == "msg" and (ch == nil or l.ch == ch) then parts[#parts + 1] = l.data end
  end
  return table.concat(parts)
end

-- For a raw client: an upgrade's request, and frames as a client sends them (masked, with a
-- mask of zeros, so the payload reads as it is).
local function ws_request(path)
  return "GET " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ..
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
end

local function hex(bytes)
  return (bytes:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end))
end

-- In hex, for the raw client's hex and flood steps.
local function wsframe(op, payload, fin)
  local n = #payload
  local len = n < 126 and string.char(0x80 + n) or string.char(0x80 + 126, math.floor(n / 256), n % 256)
  return hex(string.char((fin == false and 0 or 0x80) + op) .. len .. "\0\0\0\0" .. payload)
end

-- The frames a raw client read after the 101's head: a list of {op=, payload=}.
local function server_frames(cl)
  local parts = {}
  for _, l in ipairs(cl.lines()) do if l.ev == "data" then parts[#parts + 1] = l.hex end end
  local data = table.concat(parts):gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
  local pos = (data:find("\r\n\r\n", 1, true) or #data) + 4
  local got = {}
  while pos + 1 <= #data do
    local b0, b1 = data:byte(pos, pos + 1)
    local n, off = b1 % 128, pos + 2
    if n == 126 then
      if off + 1 > #data then break end
      n, off = data:byte(off) * 256 + data:byte(off + 1), off + 2
    end
    if off + n - 1 > #data then break end
    got[#got + 1] = { op = b0 % 16, payload = data:sub(off, off + n - 1) }
    pos = off + n
  end
  return got
end

-- The code of the close frame among them, or nil; 1005 for one without a code.
local function close_code(frames)
  for _, f in ipairs(frames) do
    if f.op == 8 then return #f.payload >= 2 and f.payload:byte(1) * 256 + f.payload:byte(2) or 1005, f.payload:sub(3) end
  end
end

describe("core.listen #memcheck", function()
  it("binds 127.0.0.1:0 to a free port and says which", function()
    local l = assert(core.listen("127.0.0.1:0"))
    local addr = l:address()
    assert.matches("^127%.0%.0%.1:%d+$", addr)
    assert.not_equal("127.0.0.1:0", addr)
    assert.is_false(l:tls())
    assert.is_true(l:fileno() >= 0)
    local again, err = core.listen(addr)
    assert.is_nil(again)
    assert.equal("listen: cannot bind " .. addr .. ": the port is in use", err)
    l:close()
    l:close()
    assert.has_error(function() l:address() end, "listener on " .. addr .. " is closed")
  end)

  it("binds [::1]:0, and refuses what is no address", function()
    local l = core.listen("[::1]:0")
    if l then
      assert.matches("^%[::1%]:%d+$", l:address())
      l:close()
    end
    for _, bad in ipairs({ "127.0.0.1", "::1:80", "[::1:80", "nosuchhost.invalid:80" }) do
      local r, err = core.listen(bad)
      assert.is_nil(r)
      assert.matches("^listen: ", err)
      assert.matches(bad, err, 1, true)
    end
  end)

  it("makes a unix socket of mode 0600, replaces a stale one, refuses a live one or a file", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local path = dir .. "/gw.sock"
    local l = assert(core.listen("unix:" .. path))
    assert.equal("unix:" .. path, l:address())
    local p = io.popen("stat -c %a " .. q(path))
    assert.equal("600", p:read("*l"))
    p:close()
    local r, err = core.listen("unix:" .. path)
    assert.is_nil(r)
    assert.equal("listen: unix:" .. path .. ": another server listens on it", err)
    l:close() -- removes it
    assert.is_nil(io.open(path))
    -- a stale socket: one whose server is gone without removing it
    assert(os.execute(("python3 -c %s"):format(q("import socket; s=socket.socket(socket.AF_UNIX); s.bind('" .. path .. "')"))))
    l = assert(core.listen("unix:" .. path))
    l:close()
    local f = assert(io.open(path, "w"))
    f:write("x")
    f:close()
    r, err = core.listen("unix:" .. path)
    assert.is_nil(r)
    assert.equal("listen: unix:" .. path .. ": exists and is not a socket", err)
    os.remove(path)
    os.remove(dir)
  end)

  it("says which file is wrong in its TLS material", function()
    local r, err = core.listen("127.0.0.1:0", { tls_cert = TLS .. "/server-cert.pem", tls_key = TLS .. "/client/key.pem" })
    assert.is_nil(r)
    assert.equal("listen: the key " .. TLS .. "/client/key.pem does not match the certificate " .. TLS ..
      "/server-cert.pem", err)
    r, err = core.listen("127.0.0.1:0", { tls_cert = "/nonexistent.pem", tls_key = TLS .. "/server-key.pem" })
    assert.is_nil(r)
    assert.matches("^listen: cannot read the certificate /nonexistent.pem: ", err)
    assert.has_error(function() core.listen("127.0.0.1:0", { tls_cert = "x" }) end)
  end)
end)

describe("gw:run and signals #memcheck", function()
  it("tells of a signal that came between two runs, once, at once", function()
    local l = assert(core.listen("127.0.0.1:0"))
    local gw = assert(core.gateway(l))
    local _, was_on = core.signals(true)
    local ok, err = pcall(function()
      local _, interrupted = gw:run(0)
      assert.is_false(interrupted)
      os.execute("kill -TERM $PPID") -- the shell's parent: this process, outside gw:run
      local t0 = core.monotime()
      _, interrupted = gw:run(5)
      assert.is_true(interrupted)
      assert.is_true(core.monotime() - t0 < 1, "run waited for its timeout")
      local sigs = core.pending_signals()
      assert.equal(15, sigs[1])
      _, interrupted = gw:run(0.05)
      assert.is_false(interrupted)
    end)
    if not was_on then core.signals(false) end
    gw:close()
    l:close()
    assert(ok, err)
  end)
end)

describe("gw:run and Lua's own descriptors #memcheck", function()
  it("watches them for one run and tells which is ready, then forgets them", function()
    local l = assert(core.listen("127.0.0.1:0"))
    local other = assert(core.listen("127.0.0.1:0"))
    local gw = assert(core.gateway(l))
    local ok, err = pcall(function()
      local fd = other:fileno()
      assert.same({}, (gw:run(0.05, { fd })))
      -- a client of the other listener makes its descriptor readable until it is accepted
      os.execute(("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s; sleep 2' &"):format(other:address():match(":(%d+)$")))
      local t0 = core.monotime()
      local events = gw:run(5, { fd, fd })
      assert.is_true(core.monotime() - t0 < 4, "run waited for its timeout")
      assert.same({ { kind = "ready", fd = fd } }, events)
      assert.same({}, (gw:run(0.1)))            -- not watched beyond the run it was given to
      assert.same({ { kind = "ready", fd = fd } }, (gw:run(1, { fd })))
      assert.has_error(function() gw:run(0, { "three" }) end)
      assert.has_error(function() gw:run(0, { -1 }) end)
      assert.same({}, (gw:run(0)))
    end)
    gw:close()
    other:close()
    l:close()
    assert(ok, err)
  end)
end)

describe("core.gateway without an engine #memcheck", function()
  local l, gw, port
  before_each(function()
    l = assert(core.listen("127.0.0.1:0"))
    port = l:address():match(":(%d+)$")
    gw = assert(core.gateway(l, { head_timeout = 1, max_head = 1024 }))
  end)
  after_each(function()
    gw:close()
    l:close()
  end)

  it("hands a whole head to Lua, and sends Lua's answer", function()
    local cl = client("raw://127.0.0.1:" .. port, {
      { write = "GET /list?x=1 HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\nx-a: 2\r\n\r\n" } })
    local req
    drive(gw, cl.done, function(ev)
      if ev.kind == "request" then
        req = ev
        assert(gw:respond(ev.conn, 404, { ["Content-Type"] = "text/plain" }, "no such thing\n"))
      end
    end)
    assert.equal("GET", req.method)
    assert.equal("/list?x=1", req.target)
    assert.same({ host = "gw", ["x-a"] = "1, 2" }, req.headers)
    assert.matches("^127%.0%.0%.1:%d+$", req.peer)
    assert.is_false(req.tls)
    assert.is_nil(req.client_cert)
    local got = output(cl) .. (cl.find("data") or {}).data
    assert.matches("^HTTP/1.1 404 Not Found\r\n", got)
    assert.matches("Content%-Length: 14\r\nConnection: close\r\n\r\nno such thing\n$", got)
    assert.has_error(function() gw:respond(req.conn, 200, { ["Content-Length"] = "1" }) end)
    cl.stop()
  end)

  it("answers a bad head with 400, a long one with 431, itself, and Lua never sees them", function()
    for _, case in ipairs({
      { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "^HTTP/1.1 400 Bad Request\r\n.*more than one Host" },
      { "GET /" .. ("x"):rep(2000) .. " HTTP/1.1\r\n\r\n", "^HTTP/1.1 414 URI Too Long\r\n" },
      { "GET / HTTP/1.1\r\nHost: a\r\nX: " .. ("x"):rep(2000) .. "\r\n\r\n", "^HTTP/1.1 431 " },
      { "GET / HTTP/2.0\r\n\r\n", "^HTTP/1.1 505 " },
    }) do
      local cl = client("raw://127.0.0.1:" .. port, { { write = case[1] } })
      drive(gw, cl.done, function(ev) error("Lua saw " .. ev.kind) end)
      local got = {}
      for _, line in ipairs(cl.lines()) do if line.data then got[#got + 1] = line.data end end
      assert.matches(case[2], table.concat(got))
      cl.stop()
    end
  end)

  it("reads a request's body whole before Lua hears of it, and bounds it", function()
    gw:close()
    gw = assert(core.gateway(l, { head_timeout = 1, max_head = 1024, max_body = 64 }))
    -- the body in pieces, apart from its head: Lua gets every byte and none of what follows
    local cl = client("raw://127.0.0.1:" .. port, {
      { write = "POST /login HTTP/1.1\r\nHost: gw\r\nContent-Length: 11\r\n\r\ntok" }, { sleep = 200 },
      { write = "en=a%2Bb" }, { sleep = 200 }, { write = "GET / HTTP/1.1\r\n\r\n" } })
    local req
    drive(gw, cl.done, function(ev)
      if ev.kind == "request" then
        req = ev
        assert(gw:respond(ev.conn, 204, {}, ""))
      end
    end)
    assert.equal("POST", req.method)
    assert.equal("token=a%2Bb", req.body)
    cl.stop()
    -- none: ""
    cl = client("raw://127.0.0.1:" .. port, { { write = "GET / HTTP/1.1\r\nHost: gw\r\n\r\n" } })
    drive(gw, cl.done, function(ev)
      if ev.kind == "request" then
        req = ev
        assert(gw:respond(ev.conn, 204, {}, ""))
      end
    end)
    assert.equal("", req.body)
    cl.stop()
    -- over max_body, or of no length: C's answers, and Lua never sees them
    for _, case in ipairs({
      { "POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n", "^HTTP/1.1 413 .*larger than 64 bytes" },
      { "POST /login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "^HTTP/1.1 411 .*needs a Content%-Length" },
    }) do
      cl = client("raw://127.0.0.1:" .. port, { { write = case[1] } })
      drive(gw, cl.done, function(ev) error("Lua saw " .. ev.kind) end)
      local got = {}
      for _, line in ipairs(cl.lines()) do if line.data then got[#got + 1] = line.data end end
      assert.matches(case[2], table.concat(got))
      cl.stop()
    end
    -- a body that stops short: closed at head_timeout, with 408
    cl = client("raw://127.0.0.1:" .. port, {
      { write = "POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\ntoken=" }, { sleep = 5000 } })
    drive(gw, cl.done, function(ev) error("Lua saw " .. ev.kind) end)
    local e = cl.find("end")
    assert.is_true(e.ms >= 900 and e.ms < 3000, "closed after " .. e.ms .. " ms")
    assert.matches("^HTTP/1.1 408 .*did not come within 1 s", cl.find("data").data)
    cl.stop()
  end)

  it("closes a head that never completes at head_timeout, with 408", function()
    local cl = client("raw://127.0.0.1:" .. port, { { write = "GET / HTTP/1.1\r\nHo" }, { sleep = 5000 } })
    drive(gw, cl.done, function(ev) error("Lua saw " .. ev.kind) end)
    local e = cl.find("end")
    assert.is_true(e.ms >= 900 and e.ms < 3000, "closed after " .. e.ms .. " ms")
    assert.matches("^HTTP/1.1 408 ", cl.find("data").data)
    cl.stop()
  end)

  it("tells Lua of a connection that went before its answer", function()
    local cl = client("raw://127.0.0.1:" .. port, { { write = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" }, { sleep = 300 },
      { reset = true } })
    local conn, closed
    drive(gw, function() return conn end, function(ev) if ev.kind == "request" then conn = ev.conn end end)
    drive(gw, function() return closed end, function(ev)
      if ev.kind == "closed" then
        assert.equal(conn, ev.conn)
        closed = true
      end
    end)
    local ok, err = gw:respond(conn, 200, {}, "")
    assert.is_nil(ok)
    assert.equal("connection " .. conn .. " is closed", err)
    cl.stop()
  end)

  it("refuses a request that is no upgrade with its status, and upgrades need a stream", function()
    local cl = client("raw://127.0.0.1:" .. port, { { write = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" } })
    local conn
    drive(gw, function() return conn end, function(ev) if ev.kind == "request" then conn = ev.conn end end)
    assert.has_error(function() gw:upgrade(conn, {}) end)
    gw:close(conn)
    drive(gw, cl.done)
    cl.stop()
    assert.equal(0, gw:stats().connections)
  end)

  it("answers a client that half-closed after its request", function()
    local cl = client("raw://127.0.0.1:" .. port, { { write = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" },
      { halfclose = true }, { sleep = 300 } })
    local asked
    drive(gw, function() return asked end, function(ev)
      assert.equal("request", ev.kind)
      asked = ev.conn
    end)
    gw:run(0.3) -- the half-close comes while Lua decides
    assert(gw:respond(asked, 200, {}, "still here\n"))
    drive(gw, cl.done)
    assert.matches("^HTTP/1.1 200 OK\r\n.*still here\n$", (cl.find("data") or {}).data)
    cl.stop()
  end)

  it("bounds the connections that have not sent a head, per address and in all", function()
    local l2 = assert(core.listen("127.0.0.1:0"))
    local raw = "raw://" .. l2:address()
    local g2 = assert(core.gateway(l2, { head_timeout = 5, max_heads_per_peer = 2 }))
    local idle = {}
    for i = 1, 3 do
      idle[i] = client(raw, { { sleep = 4000 } })
      drive(g2, function() return g2:stats().connections >= math.min(i, 2) and (i < 3 or idle[3].done()) end,
        nil, 5, "the third connection's end")
    end
    assert.is_true(idle[3].find("end").ms < 2000, "the third waited " .. idle[3].find("end").ms .. " ms")
    assert.is_nil(idle[3].find("data"))
    assert.is_false(idle[1].done())
    for _, cl in ipairs(idle) do cl.stop() end
    g2:close()
    -- at max_heads, the one that has waited longest gives way to the newcomer
    g2 = assert(core.gateway(l2, { head_timeout = 5, max_heads = 2 }))
    for i = 1, 3 do
      idle[i] = client(raw, { { sleep = 4000 } })
      drive(g2, function() return g2:stats().connections >= math.min(i, 2) and (i < 3 or idle[1].done()) end,
        nil, 5, "the first connection's end")
    end
    assert.is_true(idle[1].find("end").ms < 3000)
    assert.is_false(idle[3].done())
    for _, cl in ipairs(idle) do cl.stop() end
    g2:close()
    l2:close()
  end)

  it("takes no more connections than the descriptors the process may open allow", function()
    local v = os.getenv("LUA_VERSION") or "5.4"
    local lua = os.getenv("LUA") or "lua5.4"
    local code = 'package.cpath = "./build/' .. v .. '/?.so;" .. package.cpath; local core = require "dockerpty.core"; ' ..
      'local l = core.listen("127.0.0.1:0"); print(core.gateway(l):stats().max_connections)'
    local p = io.popen("ulimit -n 200 && " .. lua .. " -e " .. q(code))
    local got = p:read("*a")
    p:close()
    local n = tonumber(got) -- (200 - 64) / 2, or less under valgrind, which takes some for itself
    assert.is_true(n ~= nil and n <= 68 and n >= 32, "max_connections " .. got)
    assert.is_true(gw:stats().max_connections > 68)
  end)

  it("raises on a closed gateway", function()
    gw:close()
    gw:close()
    assert.has_error(function() gw:run(0) end, "gateway is closed")
  end)
end)

describe("core.gateway bridging an exec #engine", function()
  local c, id, l, gw, port, ended, resizes, dropped
  local cmds = {
    sh = { "sh" },
    wc = { "sh", "-c", "wc -c; echo to-stderr >&2" },
    flood = { "sh", "-c", "while :; do cat /bin/busybox; done" },
    ticks = { "sh", "-c", "for i in $(seq 1 50); do echo tick-$i; sleep 0.1; done" },
    sleep = { "sleep", "600" },
    burst = { "sh", "-c", "head -c 24000000 /dev/zero | tr '\\0' x" },
  }

  -- Upgrades every request to an exec of the command its target names: /tty/NAME or /raw/NAME.
  local function serve(ev)
    if ev.kind == "request" then
      local mode, name = ev.target:match("^/(%a+)/(%a+)")
      local tty = mode == "tty"
      ev.target = mode
      local ex = assert(c:exec_create(id, { Cmd = cmds[name], AttachStdin = true, AttachStdout = true,
        AttachStderr = true, Tty = tty }))
      local s = assert(c:exec_socket(ex.Id, { tty = tty }))
      assert(gw:upgrade(ev.conn, { stream = s, tty = tty, read_only = mode == "ro" }))
    elseif ev.kind == "ended" then
      ended[ev.session] = ev
      if ev.why == "engine" then
        gw:send_status(ev.session, '{"status":"Success"}')
        gw:close(ev.session, 1000, "done")
      end
    elseif ev.kind == "resize" then
      resizes[#resizes + 1] = ev
    elseif ev.kind == "input_dropped" then
      dropped[#dropped + 1] = ev
    end
  end

  setup(function()
    c = helpers.engine()
    id = helpers.container(c, { Cmd = { "sleep", "600" } })
    assert(c:start(id))
  end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)
  before_each(function()
    ended, resizes, dropped = {}, {}, {}
    l = assert(core.listen("127.0.0.1:0"))
    port = l:address():match(":(%d+)$")
    gw = assert(core.gateway(l, { max_message = 4096, max_pending = 64 * 1024, ping_interval = 0.3,
      ping_timeout = 1 }))
  end)
  after_each(function()
    gw:close()
    l:close()
  end)

  local function url(path) return "ws://127.0.0.1:" .. port .. path end

  it("carries a tty's input and output, a resize, and ends with a status and 1000", function()
    local cl = client(url("/tty/sh"), { { send = { 0, "echo hel''lo-$((6*7))\r" } }, { expect = "hello-42" },
      { send = { 4, '{"Width":120,"Height":40}' } }, { send = { 0, "exit\r" } } })
    drive(gw, cl.done, serve)
    assert.matches("hello%-42", output(cl, 1))
    assert.same({ kind = "resize", session = resizes[1].session, width = 120, height = 40 }, resizes[1])
    local got = cl.lines()
    assert.equal(3, got[#got - 2].ch)
    assert.equal('{"status":"Success"}', got[#got - 2].data)
    assert.same({ 1000, "done" }, { cl.find("close").code, cl.find("close").reason })
    local _, e = next(ended)
    assert.equal("engine", e.why)
    cl.stop()
  end)

  it("demuxes stdout and stderr without a tty, half-closes stdin, takes a fragmented message", function()
    local cl = client(url("/raw/wc"), { { frag = { 0, ("x"):rep(3000), 5 } }, { send = { 0, ("y"):rep(1000) } },
      { eof = true } })
    drive(gw, cl.done, serve)
    assert.equal("4000\n", output(cl, 1))
    assert.equal("to-stderr\n", output(cl, 2))
    cl.stop()
  end)

  it("answers pings, pings the client, and refuses a message over max_message with 1009", function()
    local cl = client(url("/raw/sh"), { { ping = "x" }, { sleep = 800 }, { big = { 0, 5000 } }, { sleep = 3000 } })
    drive(gw, cl.done, serve)
    assert.truthy(cl.find("pong"))
    assert.equal(1009, cl.find("close").code)
    local _, e = next(ended)
    assert.equal("error", e.why)
    assert.matches("larger than 4096 bytes", e.message)
    cl.stop()
  end)

  it("drops a client that reads too slowly with 1008, while another session goes on", function()
    local slow = client(url("/tty/flood"), { { pause = 4000 } }, { quiet = true })
    local other = client(url("/raw/ticks"), { { expect = "tick-30" }, { close = { 1000, "" } } })
    drive(gw, function() return slow.done() and other.done() end, serve, 40)
    assert.same({ 1008, "too slow" }, { slow.find("close").code, slow.find("close").reason })
    assert.matches("tick%-30", output(other, 1))
    local whys = {}
    for _, e in pairs(ended) do whys[e.why] = true end
    assert.is_true(whys.slow)
    slow.stop()
    other.stop()
  end)

  it("sends what was queued before Lua's close, to the last byte, then the status and the close #heavy", function()
    -- the client stops reading while the exec writes 24 MB: far more than the sockets hold, so
    -- most of it, the status and the close are queued in the gateway when Lua closes
    gw:close()
    gw = assert(core.gateway(l, { max_pending = 64 * 1024 * 1024 }))
    local cl = client(url("/raw/burst"), { { pause = 3000 } }, { quiet = true })
    drive(gw, cl.done, serve, 60)
    local got = cl.lines()
    assert.equal("engine", select(2, next(ended)).why)
    assert.same({ "close", 1000, "done", 24000000 }, { got[#got - 1].ev, got[#got - 1].code, got[#got - 1].reason,
      got[#got - 1].received })
    assert.same({ 3, '{"status":"Success"}' }, { got[#got - 2].ch, got[#got - 2].data })
    cl.stop()
  end)

  it("drops a read-only session's input and says so once", function()
    local cl = client(url("/ro/sh"), { { send = { 0, "echo typed\n" } }, { send = { 0, "x" } }, { sleep = 500 },
      { close = { 1000, "" } } })
    drive(gw, cl.done, serve)
    assert.equal(1, #dropped)
    assert.equal("", output(cl, 1))
    cl.stop()
  end)
  local function ended_why(why)
    return function()
      for _, e in pairs(ended) do if e.why == why then return e end end
    end
  end

  it("drops a client that sends pings and never reads their pongs, each queued pong counted", function()
    local cl = client("raw://127.0.0.1:" .. port, { { write = ws_request("/tty/sleep") }, { pause = true },
      { flood = { wsframe(9, ""), 20000, 10000 } } })
    drive(gw, ended_why("slow"), serve, 25, "the slow client's end")
    cl.stop()
  end)

  it("serves the other sessions while one floods it with frames that carry nothing", function()
    local flood = client("raw://127.0.0.1:" .. port, { { write = ws_request("/tty/sleep") },
      { flood = { wsframe(2, "\0"), 30000, 150000 } } })
    local other = client(url("/raw/ticks"), { { sleep = 500 }, { expect = "tick-10" }, { close = { 1000, "" } } })
    drive(gw, other.done, serve, 40)
    flood.stop()
    assert.is_true(other.find("expected").found, "no tick came back during the flood")
    other.stop()
  end)

  it("keeps a client whose input the engine has not taken past its pings, and ends it at its reset", function()
    local cl = client("raw://127.0.0.1:" .. port, { { write = ws_request("/raw/sleep") },
      { flood = { wsframe(2, "\0" .. ("x"):rep(4000)), 20000, 16 } }, { sleep = 2500 }, { reset = true } })
    drive(gw, function() return cl.find("blocked") end, serve, 25, "the gateway to stop reading")
    local quiet = os.time() + 2
    drive(gw, function() return os.time() >= quiet end, serve, 5)
    assert.is_nil(next(ended), "ended while its input was held: " .. tostring((select(2, next(ended)) or {}).why))
    drive(gw, ended_why("client"), serve, 5, "the reset to end the session")
    cl.stop()
  end)

  it("counts any frame as the client's answer to pings, and closes with 1008 when none comes", function()
    local steps = { { write = ws_request("/raw/sleep") } }
    for _ = 1, 12 do
      steps[#steps + 1] = { hex = wsframe(2, "\0") }
      steps[#steps + 1] = { sleep = 200 }
    end
    steps[#steps + 1] = { sleep = 3000 }
    local cl = client("raw://127.0.0.1:" .. port, steps)
    local start = os.time()
    drive(gw, ended_why("ping"), serve, 10, "the ping timeout")
    assert.is_true(os.time() - start >= 2, "ended while the client was sending")
    drive(gw, function() return close_code(server_frames(cl)) end, serve, 5, "the close frame")
    assert.same({ 1008, "no answer to pings" }, { close_code(server_frames(cl)) })
    cl.stop()
  end)

  it("closes with 1008 on what the channel protocol does not allow, and takes an empty stdin message", function()
    for _, case in ipairs({ { text = "echo hi" }, { empty = true }, { bytes = { 7, 65 } }, { bytes = { 1, 65 } },
      { bytes = { 3, 65 } }, { send = { 4, "{bad" } }, { send = { 4, '{"Width":0,"Height":5}' } },
      { bytes = { 255, 1 } } }) do
      local cl = client(url("/raw/sh"), { case, { sleep = 3000 } })
      drive(gw, cl.done, serve, 10)
      assert.equal(1008, cl.find("close").code, core.json_encode(case))
      cl.stop()
    end
    local cl = client(url("/raw/sh"), { { bytes = { 0 } }, { send = { 0, "echo fine\n" } }, { expect = "fine" },
      { close = { 1000, "" } } })
    drive(gw, cl.done, serve)
    assert.equal("fine\n", output(cl, 1))
    assert.equal(1000, cl.find("close").code)
    cl.stop()
  end)

  it("closes with 1002 on a frame it cannot parse, and 1008 on a message in too many fragments", function()
    local cl = client("raw://127.0.0.1:" .. port, { { write = ws_request("/raw/sleep") },
      { hex = wsframe(9, "p", false) }, { sleep = 3000 } })
    drive(gw, function() return close_code(server_frames(cl)) end, serve, 10, "the close frame")
    assert.equal(1002, close_code(server_frames(cl)))
    cl.stop()
    cl = client("raw://127.0.0.1:" .. port, { { write = ws_request("/raw/sleep") },
      { hex = wsframe(2, "\0", false) .. wsframe(0, "a", false):rep(300) .. wsframe(0, "a") }, { sleep = 3000 } })
    drive(gw, function() return close_code(server_frames(cl)) end, serve, 10, "the close frame")
    assert.equal(1008, close_code(server_frames(cl)))
    cl.stop()
  end)

  it("drops a read-only session's resizes too, and tells it once on channel 2", function()
    local cl = client(url("/ro/sh"), { { send = { 4, '{"Width":100,"Height":30}' } }, { send = { 0, "x" } },
      { send = { 4, '{"Width":90,"Height":30}' } }, { sleep = 500 }, { close = { 1000, "" } } })
    drive(gw, cl.done, serve)
    assert.same({}, resizes)
    assert.equal(1, #dropped)
    assert.equal("dockerpty: input ignored: this token is read-only\r\n", output(cl, 2))
    cl.stop()
  end)

  it("ends a session across which no data went for idle_timeout, pings no matter, and not a busy one", function()
    gw:close()
    gw = assert(core.gateway(l, { ping_interval = 0.3, ping_timeout = 1, idle_timeout = 1 }))
    local function on_event(ev)
      if ev.kind == "ended" and ev.why == "idle" then
        gw:send_status(ev.session, '{"status":"Failure","reason":"Timeout"}')
        gw:close(ev.session, 1008, "idle timeout")
      end
      serve(ev)
    end
    local idle = client(url("/raw/sleep"), { { sleep = 5000 } }, { pings = true })
    local typing = {}
    for _ = 1, 8 do
      typing[#typing + 1] = { send = { 0, "x" } }
      typing[#typing + 1] = { sleep = 400 }
    end
    typing[#typing + 1] = { close = { 1000, "" } }
    local typist = client(url("/raw/sleep"), typing)
    local ticks = client(url("/raw/ticks"), { { expect = "tick-30" }, { close = { 1000, "" } } })
    drive(gw, function() return idle.done() and typist.done() and ticks.done() end, on_event, 30)
    local closed = idle.find("close")
    assert.same({ 1008, "idle timeout" }, { closed.code, closed.reason })
    assert.is_true(closed.ms >= 900 and closed.ms < 3000, "closed after " .. closed.ms .. " ms")
    assert.truthy(idle.find("ping"), "the idle client was pinged")
    local status
    for _, m in ipairs(idle.lines()) do if m.ev == "msg" and m.ch == 3 then status = m.data end end
    assert.equal('{"status":"Failure","reason":"Timeout"}', status)
    assert.equal(1000, typist.find("close").code)
    assert.matches("tick%-30", output(ticks, 1))
    local whys = {}
    for _, e in pairs(ended) do whys[#whys + 1] = e.why end
    table.sort(whys)
    assert.same({ "client", "client", "idle" }, whys)
    local _, e = next(ended)
    for _, x in pairs(ended) do if x.why == "idle" then e = x end end
    assert.equal("no data either way for 1 s", e.message)
    idle.stop()
    typist.stop()
    ticks.stop()
  end)

  it("refuses close codes a peer may not send, and ends a session whose stream Lua closed", function()
    local cl = client(url("/raw/sleep"), { { sleep = 4000 } })
    local sid, stream
    drive(gw, function() return sid end, function(ev)
      if ev.kind == "request" then
        local ex = assert(c:exec_create(id, { Cmd = cmds.sleep, AttachStdin = true, AttachStdout = true,
          AttachStderr = true }))
        stream = assert(c:exec_socket(ex.Id, { tty = false }))
        sid = assert(gw:upgrade(ev.conn, { stream = stream }))
      else
        serve(ev)
      end
    end)
    for _, code in ipairs({ 1004, 1005, 1006, 1015, 1016, 2999 }) do
      assert.has_error(function() gw:close(sid, code) end)
    end
    stream:close()
    drive(gw, function() return ended[sid] end, serve, 5, "the session's end")
    assert.same({ "error", "the engine stream was closed by its owner" }, { ended[sid].why, ended[sid].message })
    assert.is_true(gw:close(sid, 4000, "bye"))
    drive(gw, cl.done, serve)
    assert.equal(4000, cl.find("close").code)
    cl.stop()
  end)
end)

describe("core.gateway over TLS #memcheck", function()
  local function tls_round(listen_opts, client_opts)
    local l = assert(core.listen("127.0.0.1:0", listen_opts))
    local gw = assert(core.gateway(l, { head_timeout = 3 }))
    local cl = client("wss://localhost:" .. l:address():match(":(%d+)$") .. "/x", {}, client_opts)
    local req
    drive(gw, function() return cl.done() or cl.find("error") end, function(ev)
      if ev.kind == "request" then
        req = ev
        gw:respond(ev.conn, 403, {}, "no\n")
      end
    end)
    cl.stop()
    gw:close()
    l:close()
    return req, cl
  end
  local server = { tls_cert = TLS .. "/server-cert.pem", tls_key = TLS .. "/server-key.pem" }

  it("serves TLS", function()
    local req = tls_round(server, { ca = TLS .. "/ca/ca.pem" })
    assert.is_true(req.tls)
    assert.is_nil(req.client_cert)
  end)

  it("requires a client certificate from the CA when told to, and names its subject", function()
    local opts = { tls_cert = server.tls_cert, tls_key = server.tls_key, tls_client_ca = TLS .. "/ca/ca.pem" }
    local req, cl = tls_round(opts, { ca = TLS .. "/ca/ca.pem" })
    assert.is_nil(req)
    assert.is_nil(cl.find("open"))
    req = tls_round(opts, { ca = TLS .. "/ca/ca.pem", cert = TLS .. "/client/cert.pem", key = TLS .. "/client/key.pem" })
    assert.is_true(req.tls)
    assert.is_string(req.client_cert)
    req = tls_round(opts, { ca = TLS .. "/ca/ca.pem", cert = TLS .. "/other/cert.pem", key = TLS .. "/other/key.pem" })
    assert.is_nil(req)
  end)
end)
