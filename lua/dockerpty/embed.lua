-- Sessions that a host drives: the fds to watch, a step that never waits, output through a
-- callback and a buffer, and on top of them expect-style calls for scripts.
-- dockerpty.open, dockerpty.together.
local core = require "dockerpty.core"
local client_mod = require "dockerpty.client"
local session = require "dockerpty.session"
local record = require "dockerpty.record"
local filter = require "dockerpty.filter"

local M = {}

local KEEP = 1024 * 1024 -- output kept for expect() and output(), the newest bytes

local Live = {}
Live.__index = Live
M.Live = Live
-- close() on scope exit (local s <close> = ...) and on collection, as a session's own
Live.__close = function(self) self:close() end
Live.__gc = Live.__close

local check = client_mod.check

-- open(client, opts) -> session | nil, message, code. What it attaches to:
--   {container = ref}                      a container, started if it is not running
--   {container = ref, command = {...}}     a new exec in a running container
--   {image = "busybox", command = {...}}   a new container, removed when the session is
--                                          closed unless it was detached (remove = false keeps it)
-- Other opts: tty (true), interactive (true), size = {rows, cols}, env, user, workdir,
-- detach_keys, keys (as dockerpty.start takes them), on_output(data, stream, session),
-- on_exit(code, session), record = "file.cast".
function M.open(client, opts)
  check(getmetatable(client) == client_mod.Client, 1, "open", "a dockerpty client expected")
  check(type(opts) == "table", 2, "open", "table expected")
  check(opts.container or opts.image, 2, "open", "container or image expected")
  local size = opts.size
  local function positive(n) return type(n) == "number" and n >= 1 and n == math.floor(n) end
  check(size == nil or (type(size) == "table" and positive(size[1]) and positive(size[2])), 2, "open",
    "size: {rows, cols} of positive integers expected")
  check(opts.record == nil or type(opts.record) == "string", 2, "open", "record: a file name expected")
  check(opts.on_output == nil or type(opts.on_output) == "function", 2, "open", "on_output: a function expected")
  check(opts.on_exit == nil or type(opts.on_exit) == "function", 2, "open", "on_exit: a function expected")
  local tty = opts.tty ~= false
  local interactive = opts.interactive ~= false
  local self = setmetatable({
    client = client, tty = tty, queue = {}, buf = "", pos = 1, dropped = 0,
    on_output = opts.on_output, on_exit = opts.on_exit,
    size = opts.size, filter = opts.filter_escapes and filter.per_stream() or nil,
  }, Live)
  local keys, handlers = session.key_bindings(opts.detach_keys, opts.keys)
  if not keys then return nil, handlers, "config" end
  local command = opts.command
  if type(command) == "string" then
    local err
    command, err = session.split_command(command)
    if not command then return nil, err, "config" end
  end

  local ok, res, err, code = pcall(function()
    local id = opts.container
    if opts.image then
      local body = {
        Image = opts.image, Cmd = command, Tty = tty, OpenStdin = interactive,
        -- as docker run -i: the end of this session's input is the end of the container's
        StdinOnce = interactive,
        AttachStdin = interactive, AttachStdout = true, AttachStderr = true,
        Env = opts.env, User = opts.user, WorkingDir = opts.workdir, Labels = opts.labels,
      }
      local created, cerr, ccode = client:create_container(body, { name = opts.name })
      if not created then return nil, cerr, ccode end
      id = created.Id
      self.container = id -- from now on, close() removes it, whatever fails next
      self.created = opts.remove ~= false
      command = nil
    end
    local info, ierr, icode = client:inspect_container(id)
    if not info then return nil, ierr, icode end
    self.container = info.Id
    if command then
      local body = {
        Cmd = command, AttachStdin = interactive, AttachStdout = true, AttachStderr = true,
        Tty = tty, Env = opts.env, User = opts.user, WorkingDir = opts.workdir,
        DetachKeys = session.engine_detach_keys(opts.detach_keys, true),
      }
      local v = client:negotiate()
      if tty and self.size and v and client_mod.version_number(v) >= client_mod.version_number("1.42") then
        body.ConsoleSize = { self.size[1], self.size[2] }
      end
      local ex, xerr, xcode = client:exec_create(self.container, body)
      if not ex then return nil, xerr, xcode end
      self.exec_id = ex.Id
      local stream, serr, scode = client:exec_socket(ex.Id, { tty = tty })
      if not stream then return nil, serr, scode end
      self.stream = stream
    else
      self.tty = info.Config.Tty == true
      tty = self.tty
      local waiter, werr, wcode = client:wait_later(self.container,
        info.HostConfig.AutoRemove == true and "removed" or "next-exit")
      if not waiter then return nil, werr, wcode end
      self.waiter = waiter
      local stream, serr, scode = client:attach_socket(self.container, {
        stdin = interactive and info.Config.OpenStdin == true,
        detach_keys = session.engine_detach_keys(opts.detach_keys),
      })
      if not stream then return nil, serr, scode end
      self.stream = stream
      if not info.State.Running then
        local sok, serr2, scode2 = client:start(self.container)
        if not sok then return nil, serr2, scode2 end
      end
    end
    return true
  end)
  if ok and res then
    ok, res, err, code = pcall(self._ready, self, opts, keys, handlers)
  end
  if not ok or not res then
    self.on_exit = nil -- a session never handed over does not end for the host
    self:close()
    if not ok then error(res, 0) end
    return nil, err, code
  end
  return self
end

function Live:_ready(opts, keys, handlers)
  -- keys are watched on a tty only, the attached container's own when it has one
  if self.tty then
    self.matcher = core.matcher()
    for _, k in ipairs(keys) do self.matcher:add(k[1]) end
    self.handlers = handlers
  end
  self.pump = core.pump(self.stream, { capture = true, tty = self.tty })
  if self.size and self.tty then
    self.want_size = { self.size[1], self.size[2] }
    self.resize_tries = 0
  end
  if opts.record then
    local rows, cols = 24, 80
    if self.size then rows, cols = self.size[1], self.size[2] end
    local rec, err = record.open(opts.record, rows, cols, self.exec_id and "exec" or self.container:sub(1, 12))
    if not rec then return nil, err, "config" end
    rec.crlf = not self.tty -- a terminal shows a lone newline as CR LF (onlcr)
    self.recorder = rec
  end
  self:_try_resize()
  return true
end

-- A resize before the process runs fails: keep trying on later steps, a few times.
function Live:_try_resize()
  local want = self.want_size
  if not want or self.resize_tries > 20 then return end
  self.resize_tries = self.resize_tries + 1
  local ok
  if self.exec_id then ok = self.client:exec_resize(self.exec_id, want[1], want[2])
  else ok = self.client:resize(self.container, want[1], want[2]) end
  if ok then
    self.want_size = nil
    if self.recorder then self.recorder:resize(want[1], want[2]) end -- once the engine took it
  end
end

-- The tty's size: rows, cols. Recorded, and retried until the process is up.
function Live:resize(rows, cols)
  check(type(rows) == "number" and rows > 0 and type(cols) == "number" and cols > 0, 1, "resize",
    "positive rows and cols expected")
  if not self.tty then return true end
  self.size = { rows, cols }
  if self.ended then return true end
  self.want_size = { rows, cols }
  self.resize_tries = 0
  self:_try_resize()
  return true
end

-- Queues bytes for the container's input, through the key bindings; sent as the socket takes them.
function Live:write(data)
  check(type(data) == "string", 1, "write", "string expected")
  if self.ended or self.detached then return false end
  while self.matcher and data ~= "" do
    local out, match, used = self.matcher:feed(data)
    if out ~= "" then self.queue[#self.queue + 1] = out end
    data = data:sub(used + 1)
    if match then
      local action = self.handlers[match]
      if action == "detach" then self:detach(); return true end
      action(self)
      if self.detached then return true end
    end
  end
  if not self.matcher and data ~= "" then self.queue[#self.queue + 1] = data end
  self:_flush()
  return true
end

function Live:_flush()
  if self.input_gone then self.queue = {} end
  while self.queue[1] and self.stream do
    local n = self.stream:send(self.queue[1])
    if not n then
      -- The container's input is gone (it ended, or the way to it closed): what is queued
      -- and what comes later is dropped, as the pump drops it; output and exit code still come.
      self.queue, self.input_gone = {}, true
      return
    end
    if n < #self.queue[1] then self.queue[1] = self.queue[1]:sub(n + 1) return end
    table.remove(self.queue, 1)
  end
end

-- Ends the container's input once what was written has gone; its output still comes.
function Live:close_input()
  self:_drain_queue()
  if self.stream and not self.input_gone then return self.stream:close_write() end
  return true
end

-- Shows text in the output as if the container printed it (a status line, say).
function Live:notice(text)
  self:_deliver(text, 1)
end

-- A line in the output, outside the container's, as a key binding's session:print shows one.
function Live:print(msg)
  self:notice("\r\n[dockerpty] " .. tostring(msg) .. "\r\n")
end

function Live:_deliver(data, stream)
  if self.filter then data = self.filter:feed(data, stream) end
  self.buf = self.buf .. data
  if #self.buf > KEEP then
    local cut = #self.buf - KEEP
    self.buf = self.buf:sub(cut + 1)
    self.pos = math.max(1, self.pos - cut)
    self.dropped = self.dropped + cut
  end
  if self.recorder then self.recorder:output(data) end
  if self.on_output then self.on_output(data, stream, self) end
end

function Live:_finish(code, err)
  if self.ended then return end
  self.ended = true
  self.exit_code = code
  self.error = err
  if self.pump then self.pump:close() end
  if self.stream then self.stream:close(); self.stream = nil end
  if self.recorder then self.recorder:close() end
  if self.on_exit then self.on_exit(code, self, err) end
end

-- Ends the session as a detach: the container goes on, and is not removed.
function Live:detach()
  if self.ended then return end
  self.detached = true
  self.created = false
  if self.waiter then self.waiter:close(); self.waiter = nil end
  self:_finish(nil, "detached")
end

-- The exit code once the stream has ended: from the wait registered at the start, or the exec.
function Live:_collect_exit()
  if self.exec_id then
    for attempt = 1, 50 do
      local info, err = self.client:exec_inspect(self.exec_id)
      if not info then return self:_finish(nil, err) end
      if not info.Running then
        return self:_finish(info.ExitCode ~= core.null and info.ExitCode or nil)
      end
      core.sleep(math.min(attempt, 10) * 0.002)
    end
    return self:_finish(nil, "the exec's stream ended but it still runs")
  end
  local w, err = self.waiter:poll(false)
  if w == false then return end -- the answer is still to come: its fd is watched
  self.waiter = nil
  if not w then return self:_finish(nil, err) end
  self:_finish(w.StatusCode)
end

-- Moves what can move without waiting. Returns true while the session runs.
function Live:step()
  if self.ended then return false end
  self:_flush()
  if self.want_size then self:_try_resize() end
  if not self.stream_ended then
    local n = 0
    while true do
      local ev, a, b = self.pump:run(0)
      if ev == "output" then
        self:_deliver(a, b)
        if self.ended then return false end -- on_output detached or closed it
        n = n + 1
        -- At most 256 pieces a step, so that a busy stream leaves the host time, but never
        -- fewer than the pump holds read: it does not ask for the stream while it holds
        -- bytes, so a host waiting on fds() would not wake for them.
        if n >= 256 and not self:_holds_read_bytes() then break end
      elseif ev == "end" then
        self.stream_ended = true
        if a then self.engine_error = a end
        break
      elseif ev == nil then
        self:_finish(nil, a)
        return false
      else
        break -- idle
      end
    end
  end
  if self.stream_ended and not self.ended then self:_collect_exit() end
  return not self.ended
end

function Live:_holds_read_bytes()
  local fd = self.stream:fileno()
  for _, w in ipairs(self.pump:fds()) do
    if w[1] == fd and w[2]:find("r", 1, true) then return false end
  end
  return true
end

-- The fds to watch before the next step: {{fd, "r" | "w" | "rw"}, ...}.
function Live:fds()
  if self.ended then return {} end
  if self.stream_ended then
    return self.waiter and { { self.waiter:fileno(), "r" } } or {}
  end
  local list = self.pump:fds()
  if self.queue[1] and self.stream then
    local fd = self.stream:fileno()
    local found = false
    for _, w in ipairs(list) do
      if w[1] == fd then w[2] = w[2]:find("r") and "rw" or "w"; found = true end
    end
    if not found then list[#list + 1] = { fd, "w" } end
  end
  return list
end

-- Waits for the session's fds (or yields to dockerpty.together), at most until deadline.
function Live:_wait_io(deadline)
  local left = deadline and math.max(0, deadline - core.monotime()) or nil
  if M._scheduler and coroutine.running() then
    coroutine.yield(self:fds(), deadline)
    return
  end
  local fds = self:fds()
  if #fds == 0 then
    if not self.ended then core.sleep(math.min(left or 0.01, 0.01)) end
    return
  end
  core.poll(fds, left and math.floor(math.min(left, 86400) * 1000 + 0.5) or -1) -- a day at most: an int of ms
end

local function last_output(self)
  local tail = self.buf:sub(-600)
  return tail:gsub("\27%[[%d;?]*%a", "")
end

-- Waits until the socket has taken what is queued, reading the output meanwhile: a
-- container that answers its input (cat) reads no more of it while its output waits.
function Live:_drain_queue()
  while self.queue[1] and not self.ended do
    self:_wait_io(core.monotime() + 10)
    self:step()
  end
end

-- Sends bytes, waiting until the socket has taken them.
function Live:send(data)
  check(type(data) == "string", 1, "send", "string expected")
  self:write(data)
  self:_drain_queue()
  return self
end

-- expect(pattern, {timeout = s, plain = bool}) -> the match and its captures. Looks at the
-- output after the previous match; a timeout or the end raises an error showing the output.
function Live:expect(pattern, opts)
  check(type(pattern) == "string", 1, "expect", "string expected")
  opts = opts or {}
  local timeout = opts.timeout or 10
  local deadline = core.monotime() + timeout
  while true do
    local s, e = self.buf:find(pattern, self.pos, opts.plain)
    if s then
      self.pos = e + 1
      if opts.plain then return self.buf:sub(s, e) end
      local caps = { self.buf:match(pattern, s) }
      if #caps == 0 or (#caps == 1 and caps[1] == self.buf:sub(s, e)) then
        return self.buf:sub(s, e)
      end
      return self.buf:sub(s, e), (table.unpack or unpack)(caps)
    end
    if self.ended then
      error(("expected %q, but the session ended (%s); its last output:\n%s"):format(pattern,
        self.exit_code and ("exit code " .. self.exit_code) or tostring(self.error), last_output(self)), 2)
    end
    if core.monotime() >= deadline then
      error(("expected %q within %gs; the last output:\n%s"):format(pattern, timeout, last_output(self)), 2)
    end
    self:_wait_io(deadline)
    self:step()
  end
end

-- Everything printed so far (the newest megabyte).
function Live:output()
  return self.buf
end

-- wait({timeout = s}) -> the exit code | nil, "detached" | nil, message; a timeout raises an
-- error showing the last output, as expect's does
function Live:wait(opts)
  local deadline = opts and opts.timeout and core.monotime() + opts.timeout
  while not self.ended do
    if deadline and core.monotime() >= deadline then
      error(("the session did not end within %gs; the last output:\n%s"):format(opts.timeout, last_output(self)), 2)
    end
    self:_wait_io(deadline)
    self:step()
  end
  if self.exit_code then return self.exit_code end
  return nil, self.error
end

-- Ends the session and frees what it holds; a container it created is removed unless the
-- user detached. Closing twice is harmless. -> true | nil, message when that removal failed
function Live:close()
  if self.waiter then self.waiter:close(); self.waiter = nil end
  if not self.ended then self:_finish(nil, "closed") end
  if self.created and self.container then
    self.created = false
    local ok, err = self.client:remove_container(self.container, { force = true })
    if not ok then return nil, err end
  end
  return true
end

-- together(sessions, fn) -> results: runs fn(session, i) for each session at once, each in a
-- coroutine whose waits (expect, send, wait) yield to one poll over every session's fds.
-- results[i] is {true, values...} or {false, error}.
function M.together(sessions, fn)
  check(type(sessions) == "table", 1, "together", "a list of sessions expected")
  check(type(fn) == "function", 2, "together", "function expected")
  local prev = M._scheduler
  M._scheduler = true
  local cos, results, waiting = {}, {}, {}
  for i, s in ipairs(sessions) do
    cos[i] = coroutine.create(function() return fn(s, i) end)
    waiting[i] = true
  end
  local ok_all, err_all = pcall(function()
    while next(waiting) do
      local fds, deadline = {}, nil
      for i in pairs(waiting) do
        local r = { coroutine.resume(cos[i]) }
        if coroutine.status(cos[i]) == "dead" then
          waiting[i] = nil
          results[i] = r
        else
          for _, f in ipairs(r[2] or {}) do fds[#fds + 1] = f end
          if r[3] and (not deadline or r[3] < deadline) then deadline = r[3] end
        end
      end
      if next(waiting) then
        local left = deadline and math.max(0, deadline - core.monotime()) or 1
        if #fds > 0 then core.poll(fds, math.floor(math.min(left, 1) * 1000)) else core.sleep(0.005) end
      end
    end
  end)
  M._scheduler = prev
  if not ok_all then error(err_all, 0) end
  return results
end

return M
