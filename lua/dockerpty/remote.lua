-- A container's terminal from a gateway: a WebSocket client of v5.channel.k8s.io (doc/gateway.md:
-- channels 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255 close), on this terminal as
-- exec -it gives a local one (dockerpty connect), or driven by a script with embed's calls
-- (dockerpty.connect). The URL is the server's business: only the framing is ours.
local core = require "dockerpty.core"
local client_mod = require "dockerpty.client"
local session = require "dockerpty.session"
local embed = require "dockerpty.embed"
local record = require "dockerpty.record"

local M = {}

M.PROTOCOL = "v5.channel.k8s.io"
local STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
local SIGWINCH, SIGTSTP, SIGCONT = core.SIGWINCH, core.SIGTSTP, core.SIGCONT
local READ_MAX = 4096 -- what core.read gives at most

local check = client_mod.check

-- An http(s) URL names the same server as ws(s); a fragment is refused without being shown,
-- since a browser's link carries the token there (#token=...).
function M.ws_url(url)
  if url:find("#", 1, true) then
    return nil, "the URL has a fragment (#...): give the token with --token-file or DOCKERPTY_TOKEN"
  end
  local scheme, rest = url:match("^(%a+)://(.*)$")
  scheme = scheme and scheme:lower()
  if scheme == "http" or scheme == "https" then return (scheme == "http" and "ws://" or "wss://") .. rest end
  if scheme ~= "ws" and scheme ~= "wss" then
    return nil, ("%s: not a ws://, wss://, http:// or https:// URL"):format(url)
  end
  return url
end

-- dial(url, {token=, cacert=, cert=, key=, timeout=}) -> ws | nil, message, "connect"
function M.dial(url, opts)
  local u, uerr = M.ws_url(url)
  if not u then return nil, uerr, "config" end
  local ws, err = core.ws_connect(u, { token = opts.token, ca_file = opts.cacert, cert = opts.cert, key = opts.key,
    timeout = opts.timeout, protocols = { M.PROTOCOL } })
  -- a refused TCP connect comes back as the bare URL, its reason lost in the C client
  if not ws then return nil, err == u and ("cannot connect to %s"):format(u) or err, "connect" end
  if ws:protocol() ~= M.PROTOCOL then
    ws:close(1002, "v5.channel.k8s.io expected")
    return nil, ("%s: the server does not speak %s"):format(u, M.PROTOCOL), "connect"
  end
  return ws
end

-- A status message's meaning: the exit code | nil, the server's message.
function M.status_result(json)
  local doc = core.json_decode(json)
  if type(doc) ~= "table" then return nil, "the server sent a status that is not JSON" end
  if type(doc.exit_code) == "number" then return math.floor(doc.exit_code) end
  if doc.status == "Success" then return 0 end
  -- a Kubernetes server gives the code only among the causes
  local causes = type(doc.details) == "table" and doc.details.causes
  if doc.reason == "NonZeroExitCode" and type(causes) == "table" then
    for _, cause in ipairs(causes) do
      if type(cause) == "table" and cause.reason == "ExitCode" and tonumber(cause.message) then
        return math.floor(tonumber(cause.message))
      end
    end
  end
  local msg = type(doc.message) == "string" and doc.message or type(doc.reason) == "string" and doc.reason
  return nil, msg or "the session failed"
end

local function resize_message(rows, cols)
  return ('{"Width":%d,"Height":%d}'):format(cols, rows)
end

-- Queues a message and sends what the socket takes now: true when all went, false when the
-- rest waits in the client (ws:send keeps it queued on a timeout), nil, message on a failure.
local function send_now(ws, ch, data)
  local ok, err = ws:send(ch, data, 0)
  if ok then return true end
  if err and err:find("^timed out") then return false end
  return nil, err
end

-- What is still queued goes on as the socket takes it: an empty stdin message is nothing to
-- the server, and sending one flushes the queue ahead of it.
local function flush_now(ws)
  return send_now(ws, STDIN, "")
end

-- The end of a session the server closed: its status, or why there is none.
local function closed_result(url, status, code, reason)
  if status then
    local exit, err = M.status_result(status)
    if exit then return exit end
    return nil, err, "remote"
  end
  local why = code and code ~= 1000 and code ~= 1005 and (" (%d%s)"):format(code, reason ~= "" and ": " .. reason or "")
  return nil, ("the connection to %s closed before an exit status%s"):format(url, why or ""), "closed"
end

-- ---- on this terminal ----

local Term = {}
Term.__index = Term

function Term:host_size()
  for _, fd in ipairs { self.out_fd, self.in_fd } do
    if core.isatty(fd) then
      local h, w = core.winsize(fd)
      if h then return h, w end
    end
  end
end

function Term:send(ch, data)
  local ok, err = send_now(self.ws, ch, data)
  if ok == nil then return nil, err end
  if ok == false then self.backlog = true end
  return true
end

function Term:send_size()
  local h, w = self:host_size()
  if h then return self:send(RESIZE, resize_message(h, w)) end
  return true
end

function Term:restore()
  if self.mode then self.mode:restore(); self.mode = nil end
  if self.signals_on then core.signals(false); self.signals_on = false end
end

function Term:reapply()
  if not self.mode then return true end
  local ok, err = self.mode:reapply()
  if not ok then return nil, err, "terminal" end
  return self:send_size()
end

-- A resize, a stop with the terminal given back until the resume, or the terminal restored and
-- the signal let through (a ctrl-c in raw mode is a byte for the container, not a signal).
function Term:on_signals()
  for _, sig in ipairs(core.pending_signals()) do
    if sig == SIGWINCH then
      self:send_size()
    elseif sig == SIGCONT and self.cont_done then
      self.cont_done = false
    elseif sig == SIGCONT then
      local ok, err, code = self:reapply()
      if not ok then return nil, err, code end
    elseif sig == SIGTSTP then
      self.cont_done = core.suspend()
      local ok, err, code = self:reapply()
      if not ok then return nil, err, code end
    else
      self:restore()
      self.ws:close(1000, "")
      core.raise(sig)
      return nil, ("interrupted by signal %d"):format(sig), "signal"
    end
  end
  return true
end

-- Everything the socket holds, to the last byte: true | the session's end (exit | nil, message, code).
function Term:drain()
  while true do
    local ch, data, code, reason = self.ws:read(0)
    if ch == false then return true end
    if ch == nil then
      if data == "closed" then return false, closed_result(self.url, self.status, code, reason) end
      return false, nil, data, "closed"
    end
    if ch == STDOUT or ch == STDERR then
      local ok, err = core.write_all(ch == STDERR and self.err_fd or self.out_fd, data)
      if not ok then
        return false, nil, ("cannot write to %s: %s"):format(ch == STDERR and "stderr" or "stdout", err), "transport"
      end
    elseif ch == STATUS then
      self.status = data
    end
  end
end

-- Typed bytes through the detach keys to channel 0: true | "detached" | nil, message.
function Term:input(data)
  if not self.matcher then return self:send(STDIN, data) end
  while data ~= "" do
    local out, match, used = self.matcher:feed(data)
    if out ~= "" then
      local ok, err = self:send(STDIN, out)
      if not ok then return nil, err end
    end
    data = data:sub(used + 1)
    if match then return "detached" end
  end
  return true
end

function Term:loop()
  local ws_fd = self.ws:fileno()
  while true do
    local more, exit, err, code = self:drain()
    if not more then return exit, err, code end
    local watch = { { ws_fd, self.backlog and "rw" or "r" }, { self.sig_fd, "r" } }
    -- input waits while the socket has not taken the last of it: it is read at the server's pace
    if self.stdin_open and not self.backlog then watch[#watch + 1] = { self.in_fd, "r" } end
    local ready = core.poll(watch, -1)
    if ready[self.sig_fd] then
      local ok, serr, scode = self:on_signals()
      if not ok then return nil, serr, scode end
    end
    if self.backlog and ready[ws_fd] and ready[ws_fd]:find("w", 1, true) then
      local ok, ferr = flush_now(self.ws)
      if ok == nil then return nil, ferr, "closed" end
      self.backlog = not ok
    end
    if ready[self.in_fd] and self.stdin_open then
      local data = core.read(self.in_fd, READ_MAX, 0)
      if data == nil then
        -- stdin's end reaches the process as a half-close; its output still comes
        self.stdin_open = false
        local ok, ierr = self:send(CLOSE, string.char(STDIN))
        if not ok then return nil, ierr, "closed" end
      elseif data ~= "" then
        local ok, ierr = self:input(data)
        if ok == "detached" then
          self:restore()
          self.ws:close(1000, "")
          return nil, "detached"
        end
        if not ok then return nil, ierr, "closed" end
      end
    end
  end
end

-- terminal(ws, {url=, detach_keys=, stdin=, stdout=, stderr=}) -> exit code | nil, "detached"
-- | nil, message, code ("closed": the connection went; "remote": the server's failure status;
-- "terminal", "transport", "signal"). Raw mode on a terminal's stdin, and back on every way out.
function M.terminal(ws, opts)
  opts = opts or {}
  local self = setmetatable({
    ws = ws, url = opts.url or tostring(ws),
    in_fd = core.fileno(opts.stdin or io.stdin), out_fd = core.fileno(opts.stdout or io.stdout),
    err_fd = core.fileno(opts.stderr or io.stderr), stdin_open = true,
  }, Term)
  local tty = core.isatty(self.in_fd)
  local ok, res, err, code = pcall(function()
    if tty then
      -- as docker: the detach keys are watched only on a terminal, piped input may hold any byte
      local keys, kerr = session.key_bindings(opts.detach_keys)
      if not keys then return nil, kerr, "config" end
      if keys[1] then
        self.matcher = core.matcher()
        self.matcher:add(keys[1][1])
      end
    end
    -- signals first: a stop or a crash from the moment raw mode is on finds its handler
    self.sig_fd = core.signals(true)
    self.signals_on = true
    if tty then
      local mode, merr = core.raw(self.in_fd)
      if not mode then return nil, merr, "terminal" end
      self.mode = mode
    end
    local sok, serr = self:send_size()
    if not sok then return nil, serr, "closed" end
    return self:loop()
  end)
  self:restore()
  ws:close()
  if not ok then error(res, 0) end
  return res, err, code
end

-- ---- driven by a script ----

-- A session as dockerpty.open gives one (expect, send, wait, together...), its bytes from the socket.
local Remote = setmetatable({}, { __index = embed.Live })
Remote.__index = Remote
Remote.__close = function(self) self:close() end
Remote.__gc = Remote.__close
M.Remote = Remote

local CONNECT_OPTS = {
  token = "string", cacert = "string", cert = "string", key = "string", timeout = "number",
  detach_keys = "string", keys = "table", on_output = "function", on_exit = "function",
  size = "table", record = "string",
}

-- connect(url, opts) -> session | nil, message, code. opts: token, cacert (a CA file for wss),
-- cert and key (a client certificate), timeout (of the connect, 10 s), size = {rows, cols}
-- (sent at once), detach_keys and keys (as open takes them), on_output, on_exit, record.
function M.connect(url, opts)
  check(type(url) == "string", 1, "connect", "a ws:// or wss:// URL expected")
  opts = opts or {}
  check(type(opts) == "table", 2, "connect", "table expected")
  for k, v in pairs(opts) do
    local kind = type(k) == "string" and CONNECT_OPTS[k]
    check(kind, 2, "connect", ("unknown option %s"):format(tostring(k)))
    check(type(v) == kind, 2, "connect", ("%s: a %s expected"):format(k, kind))
  end
  local size = opts.size
  check(size == nil or (type(size[1]) == "number" and size[1] >= 1 and type(size[2]) == "number" and size[2] >= 1),
    2, "connect", "size: {rows, cols} of positive integers expected")
  local keys, handlers = session.key_bindings(opts.detach_keys, opts.keys)
  if not keys then return nil, handlers, "config" end
  local ws, err, code = M.dial(url, opts)
  if not ws then return nil, err, code end
  local self = setmetatable({
    ws = ws, url = url, tty = true, queue = {}, raw = "", raw_pos = 1, text = "", text_pos = 1,
    unstripped = {}, stripper = require("dockerpty.strip").per_stream(),
    on_output = opts.on_output, on_exit = opts.on_exit, size = size,
  }, Remote)
  if keys[1] then
    self.matcher = core.matcher()
    for _, k in ipairs(keys) do self.matcher:add(k[1]) end
    self.handlers = handlers
  end
  if opts.record then
    local rec, rerr = record.open(opts.record, size and size[1] or 24, size and size[2] or 80, "connect")
    if not rec then ws:close(); return nil, rerr, "config" end
    self.recorder = rec
  end
  if size then self:resize(size[1], size[2]) end
  return self
end

function Remote:_send(ch, data)
  if self.ended or self.input_gone then return end
  local ok = send_now(self.ws, ch, data)
  if ok == nil then self.queue, self.input_gone = {}, true end -- the way in is gone; output still comes
  if ok == false then self.backlog = true end
end

function Remote:_flush()
  if self.input_gone then self.queue = {} end
  if self.backlog and not self.ended then
    local ok = flush_now(self.ws)
    if ok == nil then self.queue, self.input_gone = {}, true end
    self.backlog = ok == false
  end
  while self.queue[1] and not self.backlog and not self.ended do
    self:_send(STDIN, table.remove(self.queue, 1))
  end
end

function Remote:_drain_queue()
  while (self.queue[1] or self.backlog) and not self.ended and not self.input_gone do
    self:_wait_io(core.monotime() + 10)
    self:step()
  end
end

-- The remote terminal's size: sent on channel 4, and recorded.
function Remote:resize(rows, cols)
  check(type(rows) == "number" and rows > 0 and type(cols) == "number" and cols > 0, 1, "resize",
    "positive rows and cols expected")
  self.size = { rows, cols }
  if self.ended then return true end
  self:_send(RESIZE, resize_message(rows, cols))
  if self.recorder then self.recorder:resize(rows, cols) end
  return true
end

-- Ends the process's input once what was written has gone: [255][0], a half-close.
function Remote:close_input()
  self:_drain_queue()
  if not self.ended and not self.input_gone then self:_send(CLOSE, string.char(STDIN)) end
  return true
end

function Remote:step()
  if self.ended then return false end
  self:_flush()
  while not self.ended do
    local ch, data, code, reason = self.ws:read(0)
    if ch == false then break end
    if ch == nil then
      if data == "closed" then
        local exit, err = closed_result(self.url, self.status, code, reason)
        self:_finish(exit, err)
      else
        self:_finish(nil, data)
      end
      return false
    end
    if ch == STDOUT or ch == STDERR then
      self:_deliver(data, ch)
    elseif ch == STATUS then
      self.status = data
    end
  end
  return not self.ended
end

function Remote:fds()
  if self.ended then return {} end
  return { { self.ws:fileno(), self.backlog and "rw" or "r" } }
end

function Remote:_finish(code, err)
  if self.ended then return end
  -- a detach or a close of ours says goodbye with 1000; the server has closed already otherwise
  if self.ws then self.ws:close(1000, ""); self.ws = nil end
  embed.Live._finish(self, code, err)
end

return M
