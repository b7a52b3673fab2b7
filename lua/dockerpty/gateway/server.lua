-- dockerpty serve's controller: one loop over core.gateway's events. It routes each request
-- (the page, /login, /logout, the container list, the attach and exec upgrades) through one
-- check of credential, origin and policy, makes the engine streams that the C loop bridges,
-- and ends every session as doc/gateway.md says: a status, a close, and an exec's processes
-- hung up unless the process itself ended.
local core = require "dockerpty.core"
local auth = require "dockerpty.gateway.auth"
local origin = require "dockerpty.gateway.origin"
local policy = require "dockerpty.gateway.policy"
local sessions = require "dockerpty.gateway.sessions"
local page = require "dockerpty.gateway.page"
local hangup = require "dockerpty.hangup"
local record = require "dockerpty.record"
local sel = require "dockerpty.select"

local M = {}

M.MAX_LOGIN_BODY = 4096
M.EXIT_WAIT = 5 -- seconds the engine has to report an ended exec's exit code
M.STOP_WAIT = 3 -- seconds a stop gives close frames and hangups before it lets go
M.MAX_REQUESTS = 1024 -- requests in hand at once (waiting for the engine); more are 503
M.MAX_WATCHED = 4096 -- descriptors one turn of the loop watches for the tasks (core's most)

local READ_ONLY_NOTICE = "dockerpty: input ignored: this token is read-only\r\n"
M.READ_ONLY_NOTICE = READ_ONLY_NOTICE

local Server = {}
Server.__index = Server

local function line(text) return text .. "\n" end

local TEXT = { ["Content-Type"] = "text/plain; charset=utf-8", ["Cache-Control"] = "no-store" }

-- ---- the request ----

local function unescape(s)
  if s:find("%%[^%x]") or s:find("%%%x?$") then return nil end
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- "/path?a=1&b=2" -> path (decoded), {name = {values...}} | nil: a bad escape.
local function split_target(target)
  local raw_path, raw_query = target:match("^([^?]*)%??(.*)$")
  local query = {}
  for pair in raw_query:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = unescape((k:gsub("%+", " "))), unescape((v:gsub("%+", " ")))
    if not k or not v then return nil end
    query[k] = query[k] or {}
    table.insert(query[k], v)
  end
  return raw_path, query
end

-- width and height, both or neither, 1 to 65535 -> w, h | nil, nil | false, message
local function size_of(query)
  local w, h = query.width and query.width[1], query.height and query.height[1]
  if not w and not h then return nil, nil end
  w, h = tonumber(w or ""), tonumber(h or "")
  local function ok(n) return n and n == math.floor(n) and n >= 1 and n <= 65535 end
  if not ok(w) or not ok(h) then return false, "width and height: both or neither, each a whole number 1 to 65535" end
  return w, h
end

-- ---- the server ----

-- new({gateway =, listener =, client =, tokens =, settings =, log =, grace =}) -> server.
-- settings as gateway/options.validate gives them; log(line) takes a line for stderr.
function M.new(o)
  return setmetatable({
    gw = o.gateway, listener = o.listener, tokens = o.tokens,
    -- every engine call is made in a task, through a view that yields instead of waiting
    client = o.client:cooperative(function(fd, deadline) return coroutine.yield(fd, deadline) end),
    settings = o.settings, tls = o.listener:tls(), grace = o.grace or hangup.GRACE,
    log = o.log or function(s) io.stderr:write(s, "\n") end,
    cookies = sessions.new(), cookie_name = sessions.cookie_name(o.listener:tls()),
    live = {}, count = 0, per_token = {}, hangups = {}, tasks = {}, requests = 0,
  }, Server)
end

-- ---- tasks: what waits for the engine, while the loop goes on ----

-- spawn(name, fn, ...): fn runs now, in a coroutine of its own, until its first wait. Its
-- engine calls yield (fd, deadline) to step(), which resumes it with true once fd is readable
-- or false once the deadline is past; pause(seconds) yields no fd. An error ends the task
-- alone, logged on one line.
function Server:spawn(name, fn, ...)
  local co = coroutine.create(fn)
  self.tasks[co] = { name = name }
  self:resume(co, ...)
end

function Server:resume(co, ...)
  local ok, fd, deadline = coroutine.resume(co, ...)
  if not ok then
    self.log(("internal error in %s: %s"):format(self.tasks[co].name, tostring(fd):gsub("\n.*", "")))
    self.tasks[co] = nil
  elseif coroutine.status(co) == "dead" then
    self.tasks[co] = nil
  else
    local t = self.tasks[co]
    t.fd, t.deadline = fd, deadline or math.huge
  end
end

local function pause(seconds)
  coroutine.yield(nil, core.monotime() + seconds)
end

-- The descriptors the tasks wait on (at most MAX_WATCHED: the others are looked at every
-- 10 ms), and the seconds until the first deadline (or nil).
function Server:waits()
  local fds, first = {}, math.huge
  for _, t in pairs(self.tasks) do
    if t.fd then
      if #fds < M.MAX_WATCHED then fds[#fds + 1] = t.fd else first = math.min(first, core.monotime() + 0.01) end
    end
    if t.deadline < first then first = t.deadline end
  end
  if first == math.huge then return fds, nil end
  return fds, math.max(0, first - core.monotime())
end

-- Resumes the tasks whose descriptor is in ready (a set), then those past their deadline.
-- One whose descriptor was not watched is resumed as if ready: its read finds out.
function Server:wake(ready, watched)
  local now, due = core.monotime(), {}
  for co, t in pairs(self.tasks) do
    if t.fd and (ready[t.fd] or not watched[t.fd]) then due[#due + 1] = { co, true }
    elseif t.deadline <= now then due[#due + 1] = { co, t.fd == nil } end
  end
  for _, d in ipairs(due) do
    if self.tasks[d[1]] then self:resume(d[1], d[2]) end
  end
end

function Server:respond(conn, status, body, headers)
  local h = {}
  for k, v in pairs(headers or TEXT) do h[k] = v end
  h["Cache-Control"] = "no-store"
  self.gw:respond(conn, status, h, body or "")
end

function Server:refuse(conn, status, message)
  self:respond(conn, status, line(message))
end

-- The token entry the request's credential names, or nil: every route but / and /login
-- passes here first.
function Server:authenticate(h)
  local cred = auth.credential({ authorization = h.authorization, protocols = h["sec-websocket-protocol"],
    cookie = h.cookie }, self.cookie_name)
  if not cred then return nil end
  if cred.from ~= "cookie" then return self.tokens:find(cred.token), cred end
  for _, id in ipairs(cred.token) do
    local name = self.cookies:lookup(id)
    local entry = name and self.tokens:get(name)
    if entry then return entry, cred end
  end
end

function Server:unauthorized(conn)
  self.gw:respond(conn, 401, { ["WWW-Authenticate"] = "Bearer", ["Cache-Control"] = "no-store" }, "")
end

function Server:origin_ok(h)
  return origin.check(h.origin, h.host, self.tls, self.settings.origins)
end

local function method_not_allowed(self, conn, allow)
  self:respond(conn, 405, line("method not allowed: " .. allow), {
    ["Content-Type"] = "text/plain; charset=utf-8", Allow = allow })
end

-- The token a login form's body carries: token | nil, why. application/x-www-form-urlencoded,
-- with one token field.
local function form_token(body)
  local _, fields = split_target("?" .. body)
  if not fields then return nil, "a bad percent-escape in the body" end
  local t = fields.token
  if not t or #t ~= 1 or t[1] == "" then return nil, "expected one token field" end
  return t[1]
end

-- POST /login: the token from a form's body (answered 303 to /, as a form wants), or from an
-- Authorization header with an empty body (204, as a script wants); never both.
function Server:login(ev)
  local h = ev.headers
  local body = ev.body or ""
  local length = tonumber(h["content-length"] or "0")
  if length and length > M.MAX_LOGIN_BODY then return self:refuse(ev.conn, 413, "the body is larger than 4 KiB") end
  local who, form
  if body ~= "" then
    if not (h["content-type"] or ""):lower():find("^application/x%-www%-form%-urlencoded") then
      return self:refuse(ev.conn, 415, "expected application/x-www-form-urlencoded")
    end
    local token, why = form_token(body)
    if not token then return self:refuse(ev.conn, 400, why) end
    if h.authorization then return self:unauthorized(ev.conn) end -- two credentials: neither
    who, form = self.tokens:find(token), true
  else
    local cred
    who, cred = self:authenticate(h)
    if who and cred.from == "cookie" then who = nil end
  end
  if not who then return self:unauthorized(ev.conn) end
  local ok, why = self:origin_ok(h)
  if not ok then return self:refuse(ev.conn, 403, why) end
  local id = self.cookies:create(who.name)
  self.log(("login: token %s"):format(who.name))
  local headers = { ["Set-Cookie"] = sessions.set_cookie(id, self.tls, sessions.DEFAULT_TTL), ["Cache-Control"] = "no-store" }
  if form then
    headers.Location = "/"
    return self.gw:respond(ev.conn, 303, headers, "")
  end
  self.gw:respond(ev.conn, 204, headers, "")
end

function Server:logout(ev, cred)
  if cred.from == "cookie" then
    for _, id in ipairs(cred.token) do self.cookies:remove(id) end
  end
  self.gw:respond(ev.conn, 204, { ["Set-Cookie"] = sessions.set_cookie("", self.tls, 0),
    ["Cache-Control"] = "no-store" }, "")
end

function Server:list(ev, who)
  local list, err = policy.list(who.policy, self.client)
  if not list then return self:refuse(ev.conn, 502, err) end
  self:respond(ev.conn, 200, core.json_encode(setmetatable(list, core.array_mt)),
    { ["Content-Type"] = "application/json" })
end

-- The engine's refusal as the gateway answers it: a container gone is No such container.
function Server:engine_failed(conn, ref, err, code)
  if code == 404 then return self:refuse(conn, 404, "No such container: " .. ref) end
  if code == 409 then return self:refuse(conn, 409, err) end
  self:refuse(conn, 502, err)
end

-- The head as it came, for core.ws_upgrade's checks before anything is made on the engine.
local function head_of(ev)
  local lines = { ev.method .. " " .. ev.target .. " HTTP/1.1" }
  for k, v in pairs(ev.headers) do lines[#lines + 1] = k .. ": " .. v end
  return table.concat(lines, "\r\n") .. "\r\n\r\n"
end

function Server:cap_of(who)
  local per, own = self.settings.max_sessions_per_token, who.policy.max_sessions
  if per and own then return math.min(per, own) end
  return per or own
end

-- GET /api/attach/REF and /api/exec/REF: checks in doc/gateway.md's order, then the engine
-- stream, then the upgrade.
function Server:open(ev, who, kind, ref, query)
  local conn = ev.conn
  local w, h = size_of(query)
  if w == false then return self:refuse(conn, 400, h) end
  local argv, tty = query.cmd, false
  if kind == "exec" then
    if not argv or #argv == 0 then return self:refuse(conn, 400, "no command: give it as cmd=...&cmd=...") end
    local t = query.tty and query.tty[1]
    if t and t ~= "0" and t ~= "1" and t ~= "true" and t ~= "false" then
      return self:refuse(conn, 400, "tty: expected 1 or 0")
    end
    tty = t == "1" or t == "true"
  end
  local up, reason, status = core.ws_upgrade(head_of(ev))
  if not up then return self:refuse(conn, status or 400, reason or "not a WebSocket upgrade") end
  local _, offered = auth.subprotocols(ev.headers["sec-websocket-protocol"])
  local protocol = auth.choose(offered)
  if not protocol then return self:refuse(conn, 400, "the upgrade must offer the subprotocol " .. auth.PROTOCOL) end
  local c, err, code = policy.resolve(who.policy, self.client, ref)
  if not c then
    if code == 404 then return self:refuse(conn, 404, err) end
    if code == "ambiguous" then return self:refuse(conn, 400, err) end
    return self:refuse(conn, 502, err)
  end
  if kind == "attach" and not policy.may_attach(who.policy) then
    return self:refuse(conn, 403, "this token may not attach")
  end
  if kind == "exec" and not policy.may_exec(who.policy, argv) then
    return self:refuse(conn, 403, "this token may not run this command")
  end
  local cap = self:cap_of(who)
  if cap and (self.per_token[who.name] or 0) >= cap then
    return self:refuse(conn, 429, ("token %s has %d sessions open, its most"):format(who.name, cap))
  end
  if self.count >= self.settings.max_sessions then
    return self:refuse(conn, 503, ("the gateway has %d sessions open, its most"):format(self.count))
  end
  -- counted against both caps while the engine makes the stream, so that opens at once
  -- cannot pass them together
  self.count = self.count + 1
  self.per_token[who.name] = (self.per_token[who.name] or 0) + 1
  local s = { kind = kind, token = who.name, container = c.Id, ref = ref, tty = tty, argv = argv,
    read_only = who.policy.read_only, protocol = protocol, width = w, height = h }
  s.name = (c.Names and c.Names[1] or ""):gsub("^/", "")
  local ok, started = pcall(self.start_session, self, conn, s, c)
  if not (s.id and self.live[s.id]) then -- not live: its place is given back
    self.count = self.count - 1
    self.per_token[who.name] = self.per_token[who.name] - 1
  end
  if not ok then error(started, 0) end
end

-- The engine stream of a session whose checks have passed, and the upgrade: true once the
-- session is live. Each engine call waits in this task alone.
function Server:start_session(conn, s, c)
  if self.stopping then
    self:refuse(conn, 503, "the gateway is stopping")
    return false
  end
  local stream, err, code
  local function failed() -- the engine refused: its word, as every route words it
    if self.stopping then
      self:refuse(conn, 503, "the gateway is stopping")
    else
      self:engine_failed(conn, s.ref, err, code)
    end
    return false
  end
  local function gone(why) -- the client went, or the gateway stops, while the engine answered
    if stream then
      stream:close()
      if s.exec_id then self:hang_up(s) end -- started: its process runs on without a client
    end
    if self.stopping then self:refuse(conn, 503, "the gateway is stopping") end
    self.log(("refused an upgrade: token %s, %s: %s"):format(s.token, s.kind, why))
    return false
  end
  if s.kind == "exec" then
    if c.State ~= "running" then
      self:refuse(conn, 409, ("container %s is not running"):format(s.ref))
      return false
    end
    s.marker = hangup.token()
    local ex
    ex, err, code = self.client:exec_create(c.Id, { Cmd = s.argv, AttachStdin = not s.read_only,
      AttachStdout = true, AttachStderr = true, Tty = s.tty, Env = { hangup.env_entry(s.marker) } })
    if not ex then return failed() end
    s.exec_id = ex.Id
    if self.stopping then return gone("the gateway is stopping") end -- made, never started
    stream, err, code = self.client:exec_socket(ex.Id, { tty = s.tty })
    if not stream then return failed() end
    if s.width and s.tty and not self.stopping then self.client:exec_resize(ex.Id, s.height, s.width) end
  else
    local info
    info, err, code = self.client:inspect_container(c.Id)
    if not info then return failed() end
    s.tty = info.Config and info.Config.Tty == true
    if self.stopping then return gone("the gateway is stopping") end
    stream, err, code = self.client:attach_socket(c.Id, {
      stdin = info.Config and info.Config.OpenStdin == true and not s.read_only, stream = true })
    if not stream then return failed() end
    if s.width and s.tty and not self.stopping then self.client:resize(c.Id, s.height, s.width) end
  end
  if self.stopping then return gone("the gateway is stopping") end
  local path, rerr = self:recording(s)
  if rerr then
    self:refuse(conn, 500, "cannot record the session")
    return gone(rerr)
  end
  local id, uerr = self.gw:upgrade(conn, { stream = stream, tty = s.tty, read_only = s.read_only,
    protocol = s.protocol, headers = { ["Cache-Control"] = "no-store" }, record = path })
  if not id then
    if path then os.remove(path) end
    if uerr and path and uerr:find(path, 1, true) then self:refuse(conn, 500, "cannot record the session") end
    return gone(uerr)
  end
  s.record = path
  s.id = id
  self.live[id] = s
  self.log(("session %d start: token %s, %s %s (%s)%s%s%s"):format(id, s.token, s.kind, sel.printable(s.name),
    c.Id:sub(1, 12), s.argv and ": " .. sel.printable(table.concat(s.argv, " ")) or "",
    s.read_only and ", read-only" or "", path and ", recorded to " .. sel.printable(path) or ""))
  return true
end

function Server:route(ev)
  local h, conn = ev.headers, ev.conn
  local path, query = split_target(ev.target)
  if not path then return self:refuse(conn, 400, "a bad percent-escape in the target") end
  if path == "/" then
    if ev.method ~= "GET" and ev.method ~= "HEAD" then return method_not_allowed(self, conn, "GET") end
    return self.gw:respond(conn, 200, page.HEADERS, ev.method == "HEAD" and "" or page.HTML)
  end
  if path == "/login" then
    if ev.method ~= "POST" then return method_not_allowed(self, conn, "POST") end
    return self:login(ev)
  end
  local who, cred = self:authenticate(h)
  if not who then return self:unauthorized(conn) end
  local ok, why = self:origin_ok(h)
  if not ok then return self:refuse(conn, 403, why) end
  if path == "/logout" then
    if ev.method ~= "POST" then return method_not_allowed(self, conn, "POST") end
    return self:logout(ev, cred)
  end
  if path == "/api/containers" then
    if ev.method ~= "GET" then return method_not_allowed(self, conn, "GET") end
    return self:list(ev, who)
  end
  local kind, raw_ref = path:match("^/api/(%a+)/([^/]+)$")
  if kind == "attach" or kind == "exec" then
    if ev.method ~= "GET" then return method_not_allowed(self, conn, "GET") end
    local ref = unescape(raw_ref)
    if not ref then return self:refuse(conn, 400, "a bad percent-escape in the container") end
    return self:open(ev, who, kind, ref, query)
  end
  self:refuse(conn, 404, "no such page: " .. path)
end

-- ---- recordings ----

-- A name's part in a file name: what is not a letter, digit, dot, dash or underscore is "_".
local function file_part(s)
  return ((s or ""):gsub("[^%w._-]", "_"):gsub("^%.", "_"))
end

-- With --record: the session's file, made (0600, never over another) with its asciicast v2
-- header, named TOKEN_CONTAINER_TIME_N.cast -> path | nil (no recording) | nil, message.
function Server:recording(s)
  local dir = self.settings.record
  if not dir then return nil end
  self.recorded = (self.recorded or 0) + 1
  local path = ("%s/%s_%s_%s_%d.cast"):format(dir, file_part(s.token), file_part(s.name ~= "" and s.name or s.container:sub(1, 12)),
    os.date("!%Y%m%dT%H%M%SZ"), self.recorded)
  local rec, err = record.open(path, s.height, s.width,
    s.kind .. " " .. s.name .. (s.argv and ": " .. table.concat(s.argv, " ") or ""))
  if not rec then return nil, err end
  rec:close() -- the header is in: the C loop appends the events
  return path
end

-- ---- a session's end ----

-- The Kubernetes-style status of an exit code.
function M.exit_status(code)
  if code == 0 then
    return '{"metadata":{},"status":"Success","exit_code":0}'
  end
  return ('{"metadata":{},"status":"Failure","reason":"NonZeroExitCode","message":"command terminated with'
    .. ' non-zero exit code","details":{"causes":[{"reason":"ExitCode","message":"%d"}]},"exit_code":%d}')
    :format(code, code)
end

function M.failure_status(reason, message)
  return ('{"metadata":{},"status":"Failure","reason":%s,"message":%s}')
    :format(core.json_encode(reason), core.json_encode(message))
end

function Server:forget(s, what)
  if not self.live[s.id] then return end
  self.live[s.id] = nil
  self.count = self.count - 1
  self.per_token[s.token] = self.per_token[s.token] - 1
  self.log(("session %d end: token %s, %s %s: %s"):format(s.id, s.token, s.kind, sel.printable(s.name), what))
end

-- Ends an exec's processes as a hangup would, in a task: SIGHUP now, SIGKILL once the grace
-- is over (timers() polls what is left).
function Server:hang_up(s)
  self:spawn("hangup", function()
    local p, err = hangup.begin(self.client, s.exec_id, { token = s.marker, grace = self.grace })
    if not p then
      self.log(("session %d: cannot end its processes: %s"):format(s.id or 0, err))
    elseif not p:poll() then
      self.hangups[#self.hangups + 1] = p
    end
  end)
end

-- The exit code of what ended: nil while the engine still reports it running.
function Server:exit_code(s)
  if s.exec_id then
    local info = self.client:exec_inspect(s.exec_id)
    if info and info.Running == false then return info.ExitCode end
    return nil, info == nil
  end
  local info = self.client:inspect_container(s.container)
  if info and info.State and info.State.Running == false then return info.State.ExitCode end
  return nil, info == nil
end

function Server:finish(s, status, code, reason, what)
  self.gw:send_status(s.id, status)
  self.gw:close(s.id, code, reason)
  self:forget(s, what)
end

function Server:ended(ev)
  local s = self.live[ev.session]
  if not s then return end
  if ev.why == "engine" then
    return self:spawn("exit code", self.await_exit, self, s)
  end
  if ev.why == "error" then
    self:finish(s, M.failure_status("InternalError", ev.message or "the engine failed"), 1011, "engine failed",
      "the engine failed: " .. tostring(ev.message))
  elseif ev.why == "idle" then
    self:finish(s, M.failure_status("Timeout", ev.message or "idle"), 1008, "idle timeout",
      "idle timeout: " .. tostring(ev.message))
  else
    self:forget(s, ev.message or ev.why)
  end
  if s.exec_id then self:hang_up(s) end
end

-- A session whose engine stream ended gets its status once the engine tells the exit code,
-- asked again every 50 ms for EXIT_WAIT seconds. A stop that came meanwhile has ended it.
function Server:await_exit(s)
  local deadline = core.monotime() + M.EXIT_WAIT
  while true do
    local code, gone = self:exit_code(s)
    if not self.live[s.id] then return end
    if code then return self:finish(s, M.exit_status(code), 1000, "", "exit " .. code) end
    if gone or core.monotime() >= deadline then
      if s.exec_id then self:hang_up(s) end
      return self:finish(s, M.failure_status("InternalError", "the engine ended the stream but did not tell an exit code"),
        1000, "", "ended, no exit code")
    end
    pause(0.05)
  end
end

-- Resizes reach the engine one at a time, the latest last; input typed after one waits
-- until it has.
function Server:resize(ev)
  local s = self.live[ev.session]
  if not s then return end
  s.size = { ev.height, ev.width }
  if s.resizing then return end
  s.resizing = true
  self.gw:hold_input(s.id, true)
  self:spawn("resize", function()
    local ok, err = pcall(function()
      while s.size and self.live[s.id] do
        local h, w = s.size[1], s.size[2]
        s.size = nil
        if s.exec_id then self.client:exec_resize(s.exec_id, h, w) else self.client:resize(s.container, h, w) end
      end
    end)
    s.resizing, s.size = false, nil
    if self.live[s.id] then self.gw:hold_input(s.id, false) end -- whatever became of it
    if not ok then error(err, 0) end
  end)
end

function Server:handle(ev)
  if ev.kind == "request" then
    if self.requests >= M.MAX_REQUESTS then
      return self:refuse(ev.conn, 503, ("the gateway has %d requests waiting for the engine, its most"):format(self.requests))
    end
    if self.stopping then return self:refuse(ev.conn, 503, "the gateway is stopping") end
    self.requests = self.requests + 1
    self:spawn("request", function()
      local ok, err = pcall(self.route, self, ev)
      self.requests = self.requests - 1
      if not ok then
        self.log("internal error: " .. tostring(err):gsub("\n.*", ""))
        pcall(self.refuse, self, ev.conn, 500, "internal error")
      end
    end)
  elseif ev.kind == "ended" then
    self:ended(ev)
  elseif ev.kind == "resize" then
    self:resize(ev)
  elseif ev.kind == "record_failed" then
    local s = self.live[ev.session]
    if s then self.log(("session %d: its recording %s ends here: %s"):format(s.id, sel.printable(s.record or "?"), ev.message)) end
  elseif ev.kind == "input_dropped" then
    local s = self.live[ev.session]
    if s then self.log(("session %d: input dropped: the token is read-only"):format(s.id)) end
  end
end

-- Hangups past their grace get their SIGKILL.
function Server:timers()
  local left, now = {}, core.monotime()
  for _, p in ipairs(self.hangups) do
    if not p:poll(now) then left[#left + 1] = p end
  end
  self.hangups = left
end

-- step([timeout]) -> interrupted: one turn of the loop, over the gateway's connections and
-- the engine answers the tasks wait for.
function Server:step(timeout)
  local fds, first = self:waits()
  if first then timeout = math.min(timeout or first, first) end
  if #self.hangups > 0 then timeout = math.min(timeout or 0.1, 0.1) end
  local events, interrupted = self.gw:run(timeout, fds)
  local ready, watched = {}, {}
  for _, fd in ipairs(fds) do watched[fd] = true end
  for _, ev in ipairs(events) do
    if ev.kind == "ready" then ready[ev.fd] = true else self:handle(ev) end
  end
  self:wake(ready, watched)
  self:timers()
  return interrupted
end

-- stop(): every session closed with 1001, their execs hung up, the loop run on until the
-- close frames are out, the hangups done and the tasks ended (at most STOP_WAIT seconds
-- more than the grace). Opens still waiting for the engine are refused with 503.
function Server:stop()
  self.stopping = true
  local stopping = M.failure_status("ServiceUnavailable", "the gateway is stopping")
  for _, s in pairs(self.live) do
    self:finish(s, stopping, 1001, "the gateway is stopping", "the gateway is stopping")
    if s.exec_id then self:hang_up(s) end
  end
  local deadline = core.monotime() + self.grace + M.STOP_WAIT
  while core.monotime() < deadline do
    local st = self.gw:stats()
    if #self.hangups == 0 and st.sessions == 0 and not next(self.tasks) then break end
    self:step(0.05)
  end
  self.gw:close()
end

function Server:sessions() return self.count end

return M
