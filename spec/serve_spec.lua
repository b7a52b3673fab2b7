-- dockerpty serve end to end: the command as a child process on a loopback port, the real
-- engine behind it, curl for plain HTTP and Node's ws (spec/support/serve_client.js) for the
-- sessions.
local core = require "dockerpty.core"
local helpers = require "helpers"

local q = helpers.shell_quote
local SERVE = { helpers.lua, "bin/dockerpty", "serve" }

local function slurp(path)
  local f = io.open(path)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  return text
end

local function wait_until(cond, seconds, what)
  local deadline = core.monotime() + (seconds or 20)
  while not cond() do
    assert(core.monotime() < deadline, "timed out waiting for " .. what)
    core.sleep(0.05)
  end
end

-- Whether the process is alive: a zombie is not, though kill -0 finds it until it is reaped
-- (whenever its orphan's new parent gets to it).
local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local stat = f:read("*a") or ""
  f:close()
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

-- Starts dockerpty serve with args; returns once it has printed its address.
local function serve(args, env)
  local out, err = os.tmpname(), os.tmpname()
  local cmd = { "env", "DOCKERPTY_SPEC_RUN=" .. helpers.run_id }
  for k, v in pairs(env or {}) do cmd[#cmd + 1] = q(k .. "=" .. v) end
  for _, a in ipairs(SERVE) do cmd[#cmd + 1] = q(a) end
  for _, a in ipairs(args or {}) do cmd[#cmd + 1] = q(a) end
  local p = assert(io.popen(table.concat(cmd, " ") .. " >" .. out .. " 2>" .. err .. " </dev/null & echo $!"))
  local self = { pid = p:read("*l"), out = out, err = err }
  p:close()
  wait_until(function()
    if not alive(self.pid) then
      error("dockerpty serve ended: " .. slurp(err))
    end
    return slurp(out):find("\n")
  end, 20, "dockerpty serve to print its address")
  self.url = slurp(out):match("^([^\n]*)")
  self.base = assert(self.url:match("^(https?://[^/]+)"), self.url)
  self.host = self.base:gsub("^https?://", "")
  self.token = self.url:match("#token=(.*)$")
  function self.stop(sig)
    helpers.execute("kill -" .. (sig or "TERM") .. " " .. self.pid .. " 2>/dev/null")
  end
  function self.running() return alive(self.pid) end
  function self.log() return slurp(err) end
  return self
end

-- curl: status, headers (lowercase names, a list for Set-Cookie), body.
local function curl(args)
  local hdr = os.tmpname()
  local cmd = { "curl", "-sS", "--max-time", "20", "-D", hdr, "-o", "-" }
  for _, a in ipairs(args) do cmd[#cmd + 1] = q(a) end
  local p = assert(io.popen(table.concat(cmd, " ")))
  local body = p:read("*a")
  p:close()
  local text = slurp(hdr)
  os.remove(hdr)
  local status = tonumber(text:match("^HTTP/1%.1 (%d+)"))
  assert(status, "curl got no answer: " .. text)
  local headers = { ["set-cookie"] = {} }
  for name, value in text:gmatch("\n([%w-]+): ([^\r]*)") do
    name = name:lower()
    if name == "set-cookie" then table.insert(headers[name], value) else headers[name] = value end
  end
  return status, headers, body
end

local server_log = function() return "" end

-- A WebSocket client, from Node's ws; its JSON lines read as they come.
local function ws(url, steps, opts)
  local out = os.tmpname()
  local cmdline = ("node spec/support/serve_client.js %s %s %s >%s 2>&1 & echo $!"):format(
    q(url), q(core.json_encode(steps or {})), q(core.json_encode(opts or { headers = {} })), q(out))
  local p = assert(io.popen(cmdline))
  local self = { pid = p:read("*l") }
  p:close()
  function self.lines()
    local got = {}
    for l in slurp(out):gmatch("[^\n]+") do got[#got + 1] = core.json_decode(l) or { ev = "text", data = l } end
    return got
  end
  function self.find(ev)
    for _, l in ipairs(self.lines()) do if l.ev == ev then return l end end
  end
  function self.output(ch)
    local parts = {}
    for _, l in ipairs(self.lines()) do
      if l.ev == "msg" and (ch == nil and (l.ch == 1 or l.ch == 2) or l.ch == ch) then parts[#parts + 1] = l.data end
    end
    return table.concat(parts)
  end
  function self.wait(seconds)
    wait_until(function() return self.find("done") end, seconds or 30,
      "the WebSocket client to finish: " .. slurp(out) .. "\nthe gateway's log:\n" .. server_log())
    return self
  end
  function self.status()
    local m = self.find("msg")
    for _, l in ipairs(self.lines()) do if l.ev == "msg" and l.ch == 3 then m = l end end
    return m and m.ch == 3 and core.json_decode(m.data) or nil
  end
  function self.kill() helpers.execute("kill -9 " .. self.pid .. " 2>/dev/null") end
  return self
end

-- The container's processes but ps: {"sh", "sleep 600"}, sorted.
local function processes(c, id)
  local dockerpty = require "dockerpty"
  local code, out = dockerpty.exec_command(c, id, { "ps", "-o", "stat,args" }, { capture = true })
  assert.equal(0, code)
  local list = {}
  for l in out:gmatch("[^\n]+") do
    local stat, args = l:match("^%s*(%S+)%s+(.+)$")
    if args and stat ~= "STAT" and not stat:match("^Z") and not args:match("^ps ") then list[#list + 1] = args end
  end
  table.sort(list)
  return list
end

local function auth(token) return { headers = { Authorization = "Bearer " .. token } } end

describe("dockerpty serve #engine", function()
  local c, web, db, tty_box, srv, dir, tokens_file
  local T = {
    alice = "alice-token-for-the-serve-spec",
    web = "web-team-token-for-the-serve-spec",
    viewer = "viewer-token-for-the-serve-spec",
    capped = "capped-token-for-the-serve-spec",
  }
  local names = {}

  local function wsurl(path) return "ws://" .. srv.host .. path end

  setup(function()
    c = helpers.engine()
    local run = helpers.run_id
    names.web, names.db, names.tty = "serve-web-" .. run, "serve-db-" .. run, "serve-tty-" .. run
    web = helpers.container(c, { Cmd = { "sleep", "600" }, Labels = { team = "web", run = run } }, { name = names.web })
    db = helpers.container(c, { Cmd = { "sleep", "600" }, Labels = { team = "db", run = run } }, { name = names.db })
    tty_box = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true, Labels = { team = "web", run = run } },
      { name = names.tty })
    for _, id in ipairs { web, db, tty_box } do assert(c:start(id)) end
    dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir -m 700 " .. dir))
    tokens_file = dir .. "/tokens.json"
    local function team(t) return { { labels = { "team=" .. t, "run=" .. run } } } end
    local f = assert(io.open(tokens_file, "w"))
    f:write(core.json_encode { tokens = {
      { name = "alice", token = T.alice, policy = { containers = { { labels = { "run=" .. run } } }, attach = true, exec = true } },
      { name = "web-team", token = T.web, policy = { containers = team("web"), attach = true, exec = true } },
      { name = "viewer", token = T.viewer, policy = { containers = team("web"), attach = false, exec = true,
        read_only = true } },
      { name = "capped", token = T.capped, policy = { containers = team("web"), exec = true, max_sessions = 1 } },
    } })
    f:close()
    assert(helpers.execute("chmod 600 " .. q(tokens_file)))
    srv = serve { "--listen", "127.0.0.1:0", "--tokens", tokens_file }
    server_log = srv.log
  end)
  teardown(function()
    if srv then srv.stop() end
    if c then helpers.cleanup(c); c:close() end
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("prints the address with a token it made in the fragment, and takes that token as a Bearer", function()
    local _
    local s = serve { "--listen", "127.0.0.1:0" }
    assert.matches("^http://127%.0%.0%.1:%d+/#token=[%w_-]+$", s.url)
    assert.equal(43, #s.token)
    local status, h, body = curl { "-H", "Authorization: Bearer " .. s.token, s.base .. "/api/containers" }
    assert.equal(200, status, body)
    assert.equal("application/json", h["content-type"])
    assert.is_table(core.json_decode(body))
    status, h, body = curl { s.base .. "/api/containers" }
    assert.same({ 401, "Bearer", "" }, { status, h["www-authenticate"], body })
    status, _, body = curl { "-H", "Authorization: Bearer not-" .. s.token, s.base .. "/api/containers" }
    assert.same({ 401, "" }, { status, body })
    assert.is_nil(s.log():find(s.token, 1, true))
    s.stop()
    wait_until(function() return not s.running() end, 10, "serve to stop")
  end)

  it("answers no token and a bad one with 401 and nothing else, on every route", function()
    for _, path in ipairs { "/api/containers", "/api/exec/" .. names.web .. "?cmd=sh", "/api/attach/nothing", "/nope" } do
      local status, h, body = curl { srv.base .. path }
      assert.same({ 401, "Bearer", "" }, { status, h["www-authenticate"], body }, path)
      status, _, body = curl { "-H", "Authorization: Bearer wrong-token-of-some-length", srv.base .. path }
      assert.same({ 401, "" }, { status, body }, path)
    end
    local cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=sh"), {}, auth("wrong-token-of-some-length")).wait()
    assert.equal(401, cl.find("response").status)
    assert.equal("", cl.find("response").body)
  end)

  it("serves the login page, and trades a token for an HttpOnly SameSite=Strict cookie", function()
    local _
    local status, h, body = curl { srv.base .. "/" }
    assert.equal(200, status)
    assert.matches("^text/html", h["content-type"])
    assert.matches("^default%-src 'self'", h["content-security-policy"])
    assert.equal("DENY", h["x-frame-options"])
    assert.equal("same-origin", h["referrer-policy"]) -- no-referrer would make a form post say Origin: null
    assert.matches("#token=", body, 1, true)
    assert.matches('<form id="login" method="post" action="/login">', body, 1, true)
    status, h, body = curl { "-X", "POST", "-H", "Authorization: Bearer " .. T.web, srv.base .. "/login" }
    assert.same({ 204, "" }, { status, body })
    local cookie = h["set-cookie"][1]
    assert.matches("^dockerpty=[%w_-]+; Path=/; HttpOnly; SameSite=Strict; Max%-Age=43200$", cookie)
    local pair = cookie:match("^([^;]+)")
    status, _, body = curl { "-H", "Cookie: " .. pair, srv.base .. "/api/containers" }
    assert.equal(200, status)
    local listed = {}
    for _, ct in ipairs(core.json_decode(body)) do listed[#listed + 1] = ct.name end
    assert.same({ names.tty, names.web }, listed)
    -- a browser's WebSocket: the cookie, and its page's origin, the gateway's own
    local cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=echo&cmd=by-cookie"), {},
      { headers = { Cookie = pair }, origin = srv.base }).wait()
    assert.equal("by-cookie\n", cl.output(1))
    assert.equal("Success", cl.status().status)
    -- another site's page: refused, whatever the credential
    cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=echo&cmd=x"), {},
      { headers = { Cookie = pair }, origin = "http://evil.example" }).wait()
    assert.equal(403, cl.find("response").status)
    assert.matches("not allowed", cl.find("response").body)
    cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=echo&cmd=x"), {},
      { headers = { Authorization = "Bearer " .. T.web }, origin = "null" }).wait()
    assert.equal(403, cl.find("response").status)
    status = curl { "-X", "POST", "-H", "Cookie: " .. pair, "-H", "Origin: http://evil.example", srv.base .. "/logout" }
    assert.equal(403, status)
    status, h = curl { "-X", "POST", "-H", "Cookie: " .. pair, srv.base .. "/logout" }
    assert.equal(204, status)
    assert.matches("Max%-Age=0", h["set-cookie"][1])
    assert.equal(401, (curl { "-H", "Cookie: " .. pair, srv.base .. "/api/containers" }))
    assert.equal(401, (curl { "-X", "POST", "-H", "Authorization: Bearer nope-nope-nope-nope", srv.base .. "/login" }))
  end)

  it("takes the token from a login form's body, and sends the browser back to the page", function()
    -- as a browser posts the page's form: its own origin
    local status, h, body = curl { "-H", "Origin: " .. srv.base, "--data-urlencode", "token=" .. T.web,
      srv.base .. "/login" }
    assert.same({ 303, "/", "" }, { status, h.location, body })
    local pair = assert(h["set-cookie"][1]):match("^(dockerpty=[%w_-]+); Path=/; HttpOnly; SameSite=Strict;")
    assert(pair, h["set-cookie"][1])
    assert.equal(200, (curl { "-H", "Cookie: " .. pair, srv.base .. "/api/containers" }))
    -- a token not known, a body of another type, two credentials, an oversized body, another site's form
    assert.equal(401, (curl { "--data-urlencode", "token=nope-nope-nope-nope", srv.base .. "/login" }))
    assert.equal(415, (curl { "-H", "Content-Type: text/plain", "--data-binary", "token=" .. T.web, srv.base .. "/login" }))
    assert.equal(400, (curl { "--data-binary", "name=x", srv.base .. "/login" }))
    assert.equal(401, (curl { "-H", "Authorization: Bearer " .. T.web, "--data-urlencode", "token=" .. T.web,
      srv.base .. "/login" }))
    local _
    status, _, body = curl { "--data-binary", "token=" .. ("x"):rep(5000), srv.base .. "/login" }
    assert.same({ 413, "the body is larger than 4096 bytes\n" }, { status, body })
    assert.equal(403, (curl { "-H", "Origin: http://evil.example", "--data-urlencode", "token=" .. T.web,
      srv.base .. "/login" }))
    assert.matches("login: token web%-team", server_log())
  end)

  it("never lets a token reach a container outside its policy, by name, id or prefix", function()
    local _, _, body = curl { "-H", "Authorization: Bearer " .. T.web, srv.base .. "/api/containers" }
    for _, ct in ipairs(core.json_decode(body)) do assert.not_equal(db, ct.id) end
    for _, ref in ipairs { names.db, db, db:sub(1, 12), "no-such-" .. helpers.run_id } do
      for _, path in ipairs { "/api/exec/" .. ref .. "?cmd=sh", "/api/attach/" .. ref } do
        local cl = ws(wsurl(path), {}, auth(T.web)).wait()
        local r = cl.find("response")
        assert.same({ 404, "No such container: " .. ref .. "\n" }, { r.status, r.body }, path)
      end
    end
    -- alice sees both
    local cl = ws(wsurl("/api/exec/" .. db:sub(1, 12) .. "?cmd=echo&cmd=in-db"), {}, auth(T.alice)).wait()
    assert.equal("in-db\n", cl.output(1))
  end)

  it("runs a command with a terminal: prompt, input, output, resizes, the exit code", function()
    local cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=sh&tty=1&width=80&height=24"), {
      { expect = "# " }, { send = { 0, "stty size\r" } }, { expect = "24 80" },
      { resize = { 100, 30 } }, { sleep = 300 }, { send = { 0, "stty size; echo hel''lo\r" } }, { expect = "30 100" },
      { expect = "hello" }, { send = { 0, "exit 3\r" } },
    }, auth(T.web)).wait()
    for _, l in ipairs(cl.lines()) do
      if l.ev == "expected" then assert.is_true(l.found, l.text .. " in " .. cl.output()) end
    end
    assert.equal("v5.channel.k8s.io", cl.find("open").protocol)
    local st = cl.status()
    assert.same({ "Failure", "NonZeroExitCode", 3, "3" }, { st.status, st.reason, st.exit_code, st.details.causes[1].message })
    assert.equal(1000, cl.find("close").code)
    assert.matches("session %d+ start: token web%-team, exec " .. names.web:gsub("%-", "%%-"), srv.log())
    assert.matches("session %d+ end: token web%-team, exec [^\n]*exit 3", srv.log())
  end)

  it("runs one without: stdout on 1, stderr on 2, stdin's end by [255][0]", function()
    local cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=sh&cmd=-c&cmd=wc%20-c%3B%20echo%20to-err%20%3E%262"),
      { { send = { 0, "abcd" } }, { send = { 0, "efg" } }, { eof = true } }, auth(T.web)).wait()
    assert.equal("7\n", cl.output(1))
    assert.equal("to-err\n", cl.output(2))
    assert.same({ "Success", 0 }, { cl.status().status, cl.status().exit_code })
    assert.equal(1000, cl.find("close").code)
  end)

  it("drops a read-only token's input", function()
    local cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=sh&cmd=-c&cmd=echo%20ready%3B%20sleep%201%3B%20cat&tty=0"),
      { { expect = "ready" }, { send = { 0, "typed\n" } }, { sleep = 1500 }, { close = 1000 } }, auth(T.viewer)).wait()
    assert.equal("ready\n", cl.output(1))
    assert.matches("session %d+: input dropped: the token is read%-only", srv.log())
  end)

  it("refuses what the policy does not allow with 403", function()
    local cl = ws(wsurl("/api/attach/" .. names.tty), {}, auth(T.viewer)).wait()
    assert.same({ 403, "this token may not attach\n" }, { cl.find("response").status, cl.find("response").body })
    cl = ws(wsurl("/api/exec/" .. names.web), {}, auth(T.web)).wait()
    assert.same({ 400, "no command: give it as cmd=...&cmd=...\n" }, { cl.find("response").status, cl.find("response").body })
  end)

  it("attaches to a running container's terminal, and a close detaches", function()
    local cl = ws(wsurl("/api/attach/" .. names.tty .. "?width=90&height=20"), {
      { send = { 0, "echo attached-$((2*3))\r" } }, { expect = "attached-6" }, { send = { 0, "stty size\r" } },
      { expect = "20 90" }, { close = 1000 } }, auth(T.web)).wait()
    assert.matches("attached%-6", cl.output(1))
    assert.matches("20 90", cl.output(1))
    assert.is_true(assert(c:inspect_container(tty_box)).State.Running)
  end)

  it("ends the processes of a client that vanishes without a close", function()
    local cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=sh&tty=1"),
      { { expect = "# " }, { send = { 0, "sleep 991 & sleep 992\r" } }, { hold = true } }, auth(T.web))
    wait_until(function()
      local p = processes(c, web)
      return table.concat(p, "|") == "sh|sleep 600|sleep 991|sleep 992"
    end, 20, "the session's processes")
    cl.kill()
    local t0 = core.monotime()
    wait_until(function() return table.concat(processes(c, web), "|") == "sleep 600" end, 10,
      "the session's processes to end")
    assert.is_true(core.monotime() - t0 < 10)
    assert.matches("end: token web%-team, exec [^\n]*the client went away", srv.log())
  end)

  -- spec/support/relay.py in front of the real engine, holding for 6 s each request whose
  -- request line holds text; and a gateway of its own on it. Both end with the spec.
  local function slow_engine(text)
    local sock, said = os.tmpname(), os.tmpname()
    os.remove(sock)
    local engine = assert(c.endpoint:match("^unix://(.+)"), "the engine's socket")
    local p = assert(io.popen(("python3 spec/support/relay.py %s %s %s >%s 2>&1 & echo $!")
      :format(q(sock), q(engine), q("hold=" .. text), q(said))))
    local relay_pid = p:read("*l")
    p:close()
    local slow
    finally(function()
      if slow then slow.stop() end
      os.execute("kill " .. relay_pid .. "; rm -f " .. q(sock) .. " " .. q(said))
    end)
    wait_until(function() return helpers.execute("test -S " .. q(sock)) end, 5, "the relay's socket")
    slow = serve({ "--listen", "127.0.0.1:0", "--tokens", tokens_file }, { DOCKER_HOST = "unix://" .. sock })
    slow.said = function() return slurp(said) end
    slow.wsurl = function(path) return "ws://" .. slow.host .. path end
    return slow
  end

  it("serves the other sessions while the engine takes its time over one", function()
    -- Once a request about db is held, a session on another container opens, and its echo
    -- comes back, before the held session's upgrade is answered.
    local slow = slow_engine(db)
    local held = ws(slow.wsurl("/api/exec/" .. names.db .. "?cmd=sh&tty=1"), { { expect = "# " }, { close = 1000 } },
      auth(T.alice))
    wait_until(function() return slow.said():find("holding") end, 20, "the relay to hold a request about db")
    local quick = ws(slow.wsurl("/api/exec/" .. names.web .. "?cmd=sh&tty=1"), {
      { expect = "# " }, { send = { 0, "echo qu''ick\r" } }, { expect = "quick" }, { close = 1000 },
    }, auth(T.alice)).wait()
    local found = quick.find("expected")
    assert.is_true(found and found.found, "the quick session's echo: " .. quick.output() .. "\n" .. slow.log())
    assert.is_nil(held.find("open"), "the held session opened first")
    assert.is_nil(held.find("done"), "the held session ended first")
    held.wait()
    assert.truthy(held.find("open"), "the held session, once the engine answered: " .. slow.log())
    assert.is_true(held.find("expected").found)
  end)

  it("refuses an open still waiting for the engine with 503 when it stops, and leaves no exec behind", function()
    local slow = slow_engine(db .. ",2")
    local held = ws(slow.wsurl("/api/exec/" .. names.db .. "?cmd=sh&tty=1"), { { expect = "# " } }, auth(T.alice))
    wait_until(function() return slow.said():find("holding") end, 20, "the relay to hold a request about db")
    slow.stop()
    held.wait()
    local r = held.find("response")
    assert.truthy(r, "an answer to the held open: " .. core.json_encode(held.lines()))
    assert.same({ 503, "the gateway is stopping\n" }, { r.status, r.body })
    wait_until(function() return not slow.running() end, 20, "the gateway to stop")
    assert.matches("stopped", slow.log())
    assert.same({ "sleep 600" }, processes(c, db))
  end)

  it("records every session under --record, as asciinema plays it and the viewer saw it", function()
    local rdir = dir .. "/casts"
    assert(helpers.execute("mkdir -m 700 " .. q(rdir)))
    local rec = serve { "--listen", "127.0.0.1:0", "--tokens", tokens_file, "--record", rdir }
    finally(function() rec.stop() end)
    local cl = ws("ws://" .. rec.host .. "/api/exec/" .. names.web .. "?cmd=sh&tty=1&width=90&height=20", {
      { expect = "# " }, { send = { 0, "printf 'caf\\303\\251 \\342\\202'; printf '\\254 %s\\n' do''ne\r" } },
      { expect = "done" }, { resize = { 100, 30 } }, { sleep = 200 }, { send = { 0, "exit 4\r" } },
    }, auth(T.web)).wait()
    assert.equal(4, cl.status().exit_code)
    local p = assert(io.popen("ls " .. q(rdir)))
    local files = {}
    for name in p:lines() do files[#files + 1] = name end
    p:close()
    assert.equal(1, #files, table.concat(files, " "))
    assert.matches("^web%-team_" .. names.web:gsub("%-", "%%-") .. "_%d+T%d+Z_1%.cast$", files[1])
    local path = rdir .. "/" .. files[1]
    assert.matches("recorded to " .. path:gsub("%p", "%%%0"), rec.log())
    local function capture(cmd)
      local pp = assert(io.popen(cmd))
      local out = pp:read("a")
      pp:close()
      return out
    end
    assert.equal("600\n", capture("stat -c %a " .. q(path)))
    local text = slurp(path)
    local header = core.json_decode(text:match("^([^\n]*)"))
    assert.same({ 2, 90, 20 }, { header.version, header.width, header.height })
    assert.matches('\n%[[%d.]+, "r", "100x30"%]\n', text)
    -- the recording's output is what the viewer was sent, to the byte (the euro sign came in
    -- two writes); the client prints its messages as Latin-1, here made bytes again
    local sent = cl.output(1):gsub("[\194\195][\128-\191]", function(ch)
      return string.char((ch:byte(1) % 32) * 64 + ch:byte(2) % 64)
    end)
    local recorded = {}
    for l in text:gmatch("[^\n]+") do
      local ev = core.json_decode(l)
      if ev[2] == "o" then recorded[#recorded + 1] = ev[3] end
    end
    assert.equal(sent, table.concat(recorded))
    assert.matches("caf\195\169 \226\130\172 done", sent)
    -- and asciinema itself plays it
    local t = helpers.pty_run({ "asciinema", "cat", path })
    t:expect("caf\195\169 \226\130\172 done")
    t:wait()
    t:close()
  end)

  it("holds input typed after a resize until the engine has taken the resize", function()
    local slow = slow_engine("/resize?")
    local cl = ws(slow.wsurl("/api/exec/" .. names.web .. "?cmd=sh&tty=1"), {
      { expect = "# " }, { resize = { 120, 40 } }, { send = { 0, "stty size; echo ag''ain\r" } }, { expect = "again" },
      { send = { 0, "exit\r" } },
    }, auth(T.alice)).wait()
    assert.matches("holding POST /v[%d.]+/exec/%x+/resize%?h=40&w=120", slow.said())
    assert.matches("40 120\r?\n[^\n]*again", cl.output())
  end)

  it("caps a token's sessions with 429 and the gateway's with 503", function()
    local hold = ws(wsurl("/api/exec/" .. names.web .. "?cmd=sleep&cmd=30"), { { hold = true } }, auth(T.capped))
    wait_until(function() return hold.find("open") end, 20, "the first session")
    local cl = ws(wsurl("/api/exec/" .. names.web .. "?cmd=echo&cmd=x"), {}, auth(T.capped)).wait()
    assert.equal(429, cl.find("response").status)
    hold.kill()
    local s = serve { "--listen", "127.0.0.1:0", "--tokens", tokens_file, "--max-sessions", "1" }
    local url = "ws://" .. s.host .. "/api/exec/" .. names.web
    hold = ws(url .. "?cmd=sleep&cmd=30", { { hold = true } }, auth(T.web))
    wait_until(function() return hold.find("open") end, 20, "the first session")
    cl = ws(url .. "?cmd=echo&cmd=x", {}, auth(T.alice)).wait()
    assert.equal(503, cl.find("response").status)
    assert.matches("sessions open", cl.find("response").body)
    -- a stop closes what is open with 1001
    s.stop("TERM")
    hold.wait(15)
    assert.equal(1001, hold.find("close").code)
    wait_until(function() return not s.running() end, 15, "serve to stop")
    assert.matches("stopped\n$", s.log())
    assert.is_truthy(srv.running(), srv.log())
  end)

  it("serves over TLS, requires a client certificate with --tls-client-ca, and ends an idle session", function()
    local TLS = helpers.tls
    local s = serve { "--listen", "127.0.0.1:0", "--tokens", tokens_file, "--tls-cert", TLS .. "/server-cert.pem",
      "--tls-key", TLS .. "/server-key.pem", "--tls-client-ca", TLS .. "/ca/ca.pem", "--idle-timeout", "1s" }
    assert.matches("^https://127%.0%.0%.1:%d+/", s.url)
    local url = "wss://localhost:" .. s.host:match(":(%d+)$") .. "/api/exec/" .. names.web
    local function opts(cert)
      local o = auth(T.web)
      o.ca = TLS .. "/ca/ca.pem"
      if cert then o.cert, o.key = TLS .. "/" .. cert .. "/cert.pem", TLS .. "/" .. cert .. "/key.pem" end
      return o
    end
    for _, cert in ipairs { false, "other" } do
      local cl = ws(url .. "?cmd=echo&cmd=x", {}, opts(cert)).wait()
      assert.is_nil(cl.find("open"), tostring(cert))
      assert.truthy(cl.find("error"), tostring(cert))
    end
    local cl = ws(url .. "?cmd=sh&cmd=-c&cmd=echo%20hi%3B%20exit%204", {}, opts("client")).wait()
    assert.same({ "hi\n", 4 }, { cl.output(1), cl.status().exit_code })
    -- no data either way for a second: the session ends, its process too
    local t0 = core.monotime()
    cl = ws(url .. "?cmd=sleep&cmd=993", { { sleep = 8000 } }, opts("client")).wait(15)
    assert.is_true(core.monotime() - t0 < 6, "the idle session lasted " .. (core.monotime() - t0) .. " s")
    assert.same({ "Failure", "Timeout", "no data either way for 1 s" },
      { cl.status().status, cl.status().reason, cl.status().message })
    assert.same({ 1008, "idle timeout" }, { cl.find("close").code, cl.find("close").reason })
    wait_until(function() return table.concat(processes(c, web), "|") == "sleep 600" end, 10,
      "the idle session's process to end")
    assert.matches("end: token web%-team, exec [^\n]*idle timeout: no data either way for 1 s", s.log())
    s.stop("TERM")
    wait_until(function() return not s.running() end, 15, "serve to stop")
  end)

  it("refuses a network address without TLS, and other mistakes, in one line", function()
    local _, err, status = helpers.dockerpty { "serve", "--listen", "0.0.0.0:0", "--tokens", tokens_file }
    assert.equal(125, status)
    assert.equal("dockerpty: refusing to listen on 0.0.0.0:0 without TLS: tokens and terminals would cross the"
      .. " network in clear (give --tls-cert and --tls-key, or --insecure-listen to allow it)\n", err)
    _, err, status = helpers.dockerpty { "serve", "--tokens", dir .. "/missing.json" }
    assert.equal(125, status)
    assert.matches("^dockerpty: %-%-tokens: cannot read [^\n]*\n$", err)
    _, err, status = helpers.dockerpty { "serve", "--listen", srv.host, "--tokens", tokens_file }
    assert.equal(125, status)
    assert.matches("^dockerpty: listen: cannot bind [^\n]*in use\n$", err)
    _, err, status = helpers.dockerpty { "serve", "--record", dir .. "/no-such-dir" }
    assert.equal(125, status)
    assert.equal("dockerpty: --record: cannot make recordings in " .. dir .. "/no-such-dir: No such file or directory\n", err)
  end)
end)

-- Killed and restarted on an engine of its own (scripts/engine --root), never on the one
-- other people's containers run on.
describe("dockerpty serve when its engine goes #engine", function()
  it("gives 50 open sessions a status and a close within seconds, and serves again once it is back #restart", function()
    local root = os.tmpname()
    os.remove(root)
    local engine = "scripts/engine --root " .. q(root)
    local srv, many
    finally(function()
      if many then many:close() end
      if srv then srv.stop("KILL") end
      helpers.execute(engine .. " stop >/dev/null 2>&1")
      helpers.execute("rm -rf " .. q(root))
    end)
    assert(helpers.execute(engine .. " >/dev/null"))
    local host = "unix://" .. root .. "/docker.sock"
    local c = helpers.engine { host = host }
    local box = helpers.container(c, { Cmd = { "sleep", "600" } })
    assert(c:start(box))
    c:close()
    srv = serve({ "--listen", "127.0.0.1:0" }, { DOCKER_HOST = host })
    server_log = srv.log
    local out = os.tmpname()
    many = assert(io.popen(("node spec/support/serve_many.js %s 50 %s >%s 2>&1"):format(
      q("ws://" .. srv.host .. "/api/exec/" .. box .. "?cmd=sleep&cmd=600"), q(srv.token), q(out)), "w"))
    local function lines()
      local got = {}
      for l in slurp(out):gmatch("[^\n]+") do got[#got + 1] = core.json_decode(l) or { ev = "text", data = l } end
      return got
    end
    local function has(ev)
      for _, l in ipairs(lines()) do if l.ev == ev then return l end end
    end
    wait_until(function()
      assert.is_nil(has("failed"), slurp(out))
      return has("open")
    end, 60, "50 sessions to open: " .. slurp(out))

    local pid = assert(tonumber(helpers.read_file(root .. "/dockerd.pid")))
    assert(helpers.execute("kill -9 " .. pid))
    many:write("go\n")
    many:flush()
    wait_until(function() return has("done") end, 30, "every session to close: " .. slurp(out))
    local closes, slowest = 0, 0
    for _, l in ipairs(lines()) do
      if l.ev == "closed" then
        closes = closes + 1
        slowest = math.max(slowest, l.ms)
        assert.is_table(l.status, "session " .. l.i .. " got no status")
        assert.equal("Failure", l.status.status)
        assert.is_nil(l.status.exit_code)
        assert.is_true(l.code == 1011 or l.code == 1000, "close code " .. l.code)
      end
    end
    assert.equal(50, closes)
    assert.is_true(slowest < 10000, "the last session closed after " .. slowest .. " ms")
    assert.is_truthy(srv.running(), srv.log())

    -- the engine back (a fresh one removes what spec runs left, the box too): the same
    -- gateway serves again
    assert(helpers.execute(engine .. " >/dev/null"))
    c = helpers.engine { host = host }
    box = helpers.container(c, { Cmd = { "sleep", "600" } })
    assert(c:start(box))
    c:close()
    local cl = ws("ws://" .. srv.host .. "/api/exec/" .. box .. "?cmd=sh&cmd=-c&cmd=echo%20back", {},
      auth(srv.token)).wait()
    assert.same({ "back\n", 0 }, { cl.output(1), cl.status().exit_code })
    os.remove(out)
  end)
end)
