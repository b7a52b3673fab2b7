-- Sessions that a host drives: the fds to watch, a step that never waits, output through a
-- callback and a buffer, and on top of them expect-style calls for scripts.
-- dockerpty.open, dockerpty.together.
local core = require "dockerpty.core"
local client_mod = require "dockerpty.client"
local session = require "dockerpty.session"
local record = require "dockerpty.record"
local filter = require "dockerpty.filter"
local strip = require "dockerpty.strip"

local M = {}

local KEEP = 1024 * 1024 -- output kept for expect() and output(), the newest bytes
local TAIL = 600 -- bytes of the last output an expect() error shows
local unpack = table.unpack or unpack -- luacheck: ignore 143

local Live = {}
Live.__index = Live
M.Live = Live
-- close() on scope exit (local s <close> = ...) and on collection, as a session's own
Live.__close = function(self) self:close() end
Live.__gc = Live.__close

local check = client_mod.check

-- What open() takes, by kind of value; NEW_ONLY only for a new container, and NOT_ATTACH
-- not for an attach (a process that runs already has its environment).
local OPEN_OPTS = {
  container = "name", image = "name", command = "command", tty = "boolean", interactive = "boolean",
  size = "size", env = "env", user = "string", workdir = "string", detach_keys = "string",
  keys = "any", on_output = "function", on_exit = "function", record = "string", remove = "boolean",
  filter_escapes = "boolean", binds = "strings", mounts = "tables", network = "string",
  privileged = "boolean", labels = "labels", name = "string",
}
local NEW_ONLY = { "binds", "mounts", "network", "labels", "name", "remove" }
local NOT_ATTACH = { "env", "user", "workdir", "privileged" }

local function positive(n) return type(n) == "number" and n >= 1 and n == math.floor(n) end
local function list_of(v, kind)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= #v then return false end
  for _, x in ipairs(v) do if type(x) ~= kind then return false end end
  return true
end
local function map_of_strings(v)
  if type(v) ~= "table" then return false end
  for k, x in pairs(v) do
    if type(k) ~= "string" or type(x) ~= "string" then return false end
  end
  return true
end

local VALID = {
  name = function(v) return type(v) == "string" and v ~= "" end,
  string = function(v) return type(v) == "string" end,
  boolean = function(v) return type(v) == "boolean" end,
  ["function"] = function(v) return type(v) == "function" end,
  any = function() return true end,
  command = function(v) return type(v) == "string" or list_of(v, "string") end,
  size = function(v) return type(v) == "table" and positive(v[1]) and positive(v[2]) end,
  env = function(v) return list_of(v, "string") or map_of_strings(v) end,
  strings = function(v) return list_of(v, "string") end,
  tables = function(v) return list_of(v, "table") end,
  labels = map_of_strings,
}
local EXPECTED = {
  name = "a non-empty string expected", string = "a string expected", boolean = "a boolean expected",
  ["function"] = "a function expected", command = "a string or a list of strings expected",
  size = "{rows, cols} of positive integers expected", record = "a file name expected",
  env = 'a list of "NAME=value" strings or a table of names to values expected',
  strings = "a list of strings expected", tables = "a list of tables expected",
  labels = "a table of strings to strings expected",
}

-- Misuse found a few calls down: raised with no position, which the entry point adds
-- for its own caller (rethrow).
local function misuse(cond, argn, fname, msg)
  if not cond then error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), 0) end
end

local function rethrow(ok, ...)
  if not ok then error((...), 3) end
  return ...
end

-- Raises on an option open() does not know or a value of the wrong kind.
local function check_open_opts(opts, fname, argn)
  for k, v in pairs(opts) do
    local kind = type(k) == "string" and OPEN_OPTS[k]
    misuse(kind, argn, fname, ("unknown option %s"):format(type(k) == "string" and ("%q"):format(k) or tostring(k)))
    misuse(VALID[kind](v), argn, fname, ("%s: %s"):format(k, EXPECTED[k] or EXPECTED[kind]))
  end
  misuse(opts.container or opts.image, argn, fname, "container or image expected")
  misuse(not (opts.container and opts.image), argn, fname, "container or image expected, not both")
  if not opts.image then
    for _, k in ipairs(NEW_ONLY) do
      misuse(opts[k] == nil, argn, fname, ("%s: only for a new container (image =)"):format(k))
    end
    if not opts.command then
      for _, k in ipairs(NOT_ATTACH) do
        misuse(opts[k] == nil, argn, fname, ("%s: only for a new container or an exec (command =)"):format(k))
      end
    end
  end
end

local function array(t)
  if t == nil then return nil end
  local copy = {}
  for i, v in ipairs(t) do copy[i] = v end
  return setmetatable(copy, core.array_mt)
end

-- "NAME=value" strings, from a list of them or a table of names to values (sorted).
local function env_list(env)
  if env == nil then return nil end
  if #env > 0 or next(env) == nil then return array(env) end
  local list = {}
  for k, v in pairs(env) do list[#list + 1] = k .. "=" .. v end
  table.sort(list)
  return list
end

-- A session not yet connected, from open()'s options, and what making it takes:
-- self, plan | nil, message, code. Misuse raises.
local function prepare(client, opts, fname, argn)
  misuse(getmetatable(client) == client_mod.Client, 1, fname, "a dockerpty client expected")
  misuse(type(opts) == "table", argn, fname, "table expected")
  check_open_opts(opts, fname, argn)
  local tty = opts.tty ~= false
  local interactive = opts.interactive ~= false
  local self = setmetatable({
    client = client, tty = tty, queue = {}, raw = "", raw_pos = 1, text = "", text_pos = 1,
    unstripped = {}, stripper = strip.per_stream(),
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
  local plan = { opts = opts, keys = keys, handlers = handlers, interactive = interactive }
  local env = env_list(opts.env)
  if opts.image then
    plan.create = {
      Image = opts.image, Cmd = command, Tty = tty, OpenStdin = interactive,
      -- as docker run -i: the end of this session's input is the end of the container's
      StdinOnce = interactive,
      AttachStdin = interactive, AttachStdout = true, AttachStderr = true,
      Env = env, User = opts.user, WorkingDir = opts.workdir, Labels = opts.labels,
      HostConfig = {
        Binds = array(opts.binds), Mounts = array(opts.mounts), NetworkMode = opts.network,
        Privileged = opts.privileged,
      },
    }
    plan.name = opts.name
  elseif command then
    plan.exec = {
      Cmd = command, AttachStdin = interactive, AttachStdout = true, AttachStderr = true,
      Tty = tty, Env = env, User = opts.user, WorkingDir = opts.workdir, Privileged = opts.privileged,
      DetachKeys = session.engine_detach_keys(opts.detach_keys, true),
    }
  end
  return self, plan
end

-- The container this session made: from now on, close() removes it, whatever fails next.
function Live:_made(id, plan)
  self.container = id
  self.created = plan.opts.remove ~= false
end

-- Attaches, or makes the exec and starts it: true | nil, message, code. An attach to a
-- container that does not run leaves plan.start set: the start is the caller's.
function Live:_connect(plan)
  local client = self.client
  local info, ierr, icode = client:inspect_container(self.container or plan.opts.container)
  if not info then return nil, ierr, icode end
  self.container = info.Id
  if plan.exec then
    local body = plan.exec
    local v = client:negotiate()
    if self.tty and self.size and v and client_mod.version_number(v) >= client_mod.version_number("1.42") then
      body.ConsoleSize = { self.size[1], self.size[2] }
    end
    local ex, xerr, xcode = client:exec_create(self.container, body)
    if not ex then return nil, xerr, xcode end
    self.exec_id = ex.Id
    local stream, serr, scode = client:exec_socket(ex.Id, { tty = self.tty })
    if not stream then return nil, serr, scode end
    self.stream = stream
    return true
  end
  self.tty = info.Config.Tty == true
  local waiter, werr, wcode = client:wait_later(self.container,
    info.HostConfig.AutoRemove == true and "removed" or "next-exit")
  if not waiter then return nil, werr, wcode end
  self.waiter = waiter
  local stream, serr, scode = client:attach_socket(self.container, {
    stdin = plan.interactive and info.Config.OpenStdin == true,
    detach_keys = session.engine_detach_keys(plan.opts.detach_keys),
  })
  if not stream then return nil, serr, scode end
  self.stream = stream
  plan.start = not info.State.Running
  return true
end

-- Runs fn (the engine's part of an open), then readies the session; on any failure the
-- session is closed, and what it made removed. -> self | nil, message, code
local function settle(self, plan, fn)
  local ok, res, err, code = pcall(fn)
  if ok and res then
    ok, res, err, code = pcall(self._ready, self, plan.opts, plan.keys, plan.handlers)
  end
  if not ok or not res then
    self.on_exit = nil -- a session never handed over does not end for the host
    self:close()
    if not ok then error(res, 0) end
    return nil, err, code
  end
  return self
end

-- open(client, opts) -> session | nil, message, code. What it attaches to:
--   {container = ref}                      a container, started if it is not running
--   {container = ref, command = {...}}     a new exec in a running container
--   {image = "busybox", command = {...}}   a new container, removed when the session is
--                                          closed unless it was detached (remove = false keeps it)
-- Other opts: tty (true), interactive (true), size = {rows, cols}, env, user, workdir,
-- privileged, detach_keys, keys (as dockerpty.start takes them), on_output(data, stream, session),
-- on_exit(code, session, err), record = "file.cast", filter_escapes; for a new container also
-- name, labels, binds, mounts, network. An option it does not know raises.
function M.open(client, opts)
  local self, plan, pcode = rethrow(pcall(prepare, client, opts, "open", 2))
  if not self then return nil, plan, pcode end
  return settle(self, plan, function()
    local client_ = self.client
    if plan.create then
      local created, cerr, ccode = client_:create_container(plan.create, { name = plan.name })
      if not created then return nil, cerr, ccode end
      self:_made(created.Id, plan)
    end
    local ok, err, code = self:_connect(plan)
    if not ok then return nil, err, code end
    if plan.start then
      local sok, serr, scode = client_:start(self.container)
      if not sok then return nil, serr, scode end
    end
    return true
  end)
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

-- Keeps the newest KEEP bytes of a buffer, and the place expect() looks from with them.
local function trimmed(buf, pos)
  if #buf <= KEEP then return buf, pos end
  local cut = #buf - KEEP
  return buf:sub(cut + 1), math.max(1, pos - cut)
end

-- The text of what came since it was last asked for: stripped only when a script looks.
function Live:_strip()
  local pending = self.unstripped
  if not pending[1] then return end
  local parts = {}
  for i = 1, #pending, 2 do parts[#parts + 1] = self.stripper:feed(pending[i], pending[i + 1]) end
  self.unstripped, self.unstripped_bytes = {}, 0
  self.text, self.text_pos = trimmed(self.text .. table.concat(parts), self.text_pos)
end

function Live:_deliver(data, stream)
  if self.filter then data = self.filter:feed(data, stream) end
  self.raw, self.raw_pos = trimmed(self.raw .. data, self.raw_pos)
  local pending = self.unstripped
  pending[#pending + 1], pending[#pending + 2] = data, stream
  self.unstripped_bytes = (self.unstripped_bytes or 0) + #data
  if self.unstripped_bytes > KEEP then self:_strip() end
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

-- What expect() and wait() raise: kind "timeout" or "eof", the output's tail, a message.
local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(e) return e.message end
Failure.__concat = function(a, b) return tostring(a) .. tostring(b) end
M.Failure = Failure

-- The last of the text, from a character's first byte.
local function tail(self)
  self:_strip()
  return (self.text:sub(-TAIL):gsub("^[\128-\191]+", ""))
end

local function failure(self, kind, fields, message)
  fields.kind, fields.output = kind, tail(self)
  fields.message = message .. fields.output
  return setmetatable(fields, Failure)
end

-- A pattern in quotes, its controls written out, the same under every Lua.
local ESCAPES = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ['"'] = '\\"', ["\\"] = "\\\\" }
local function quote(p)
  return '"' .. p:gsub('[%c"\\\127]', function(c) return ESCAPES[c] or ("\\%d"):format(c:byte()) end) .. '"'
end

local function describe_patterns(patterns)
  local quoted = {}
  for i, p in ipairs(patterns) do quoted[i] = quote(p) end
  return table.concat(quoted, " or ")
end

-- The earliest match of any pattern in buf from pos, the first listed on a tie:
-- index, start, end, captures.
local function earliest(buf, pos, patterns, plain)
  local best
  for i, p in ipairs(patterns) do
    local found = { buf:find(p, pos, plain) }
    if found[1] and (not best or found[1] < best[2]) then
      table.insert(found, 1, i)
      best = found
    end
  end
  return best
end

local EXPECT_OPTS = { timeout = "number", plain = "boolean", raw = "boolean" }

-- expect(pattern | {pattern, ...}, {timeout = 10, plain = false, raw = false})
--   one pattern -> the match and every capture; a list -> its index, the match and every capture.
-- Looks at the text after the previous match (the raw bytes with raw = true: each has its own
-- place) and sets s.index, s.match and s.before (what came between). A timeout or the end of
-- the session first raises a Failure.
function Live:expect(pattern, opts)
  local list = type(pattern) == "table"
  local patterns = list and pattern or { pattern }
  check(type(pattern) == "string" or (list and #pattern > 0), 1, "expect", "a pattern or a list of patterns expected")
  for i, p in ipairs(patterns) do
    check(type(p) == "string", 1, "expect", ("pattern %d: string expected"):format(i))
  end
  opts = opts or {}
  check(type(opts) == "table", 2, "expect", "table expected")
  for k, v in pairs(opts) do
    check(EXPECT_OPTS[k], 2, "expect", ("unknown option %q"):format(tostring(k)))
    check(type(v) == EXPECT_OPTS[k], 2, "expect", ("%s: %s expected"):format(k, EXPECT_OPTS[k]))
  end
  local timeout = opts.timeout or 10
  local deadline = core.monotime() + timeout
  local field, pos_field = opts.raw and "raw" or "text", opts.raw and "raw_pos" or "text_pos"
  while true do
    if not opts.raw then self:_strip() end
    local buf, pos = self[field], self[pos_field]
    local found = earliest(buf, pos, patterns, opts.plain)
    if found then
      local index, s, e = found[1], found[2], found[3]
      self[pos_field] = e + 1
      self.index, self.match, self.before = index, buf:sub(s, e), buf:sub(pos, s - 1)
      if list then return index, self.match, unpack(found, 4) end
      return self.match, unpack(found, 4)
    end
    if self.ended then
      error(failure(self, "eof", { pattern = pattern, exit_code = self.exit_code, error = self.error },
        ("expected %s, but the session ended (%s); its last output:\n"):format(describe_patterns(patterns),
          self.exit_code and ("exit code " .. self.exit_code) or tostring(self.error))))
    end
    if core.monotime() >= deadline then
      error(failure(self, "timeout", { pattern = pattern, timeout = timeout },
        ("expected %s within %gs; the last output:\n"):format(describe_patterns(patterns), timeout)))
    end
    self:_wait_io(deadline)
    self:step()
  end
end

-- output({raw = false}) -> the text printed so far (the newest megabyte), or its raw bytes.
function Live:output(opts)
  check(opts == nil or type(opts) == "table", 1, "output", "table expected")
  if opts and opts.raw then return self.raw end
  self:_strip()
  return self.text
end

-- wait({timeout = s}) -> the exit code | nil, "detached" | nil, message; a timeout raises a
-- Failure, as expect's does
function Live:wait(opts)
  check(opts == nil or type(opts) == "table", 1, "wait", "table expected")
  local timeout = opts and opts.timeout
  check(timeout == nil or type(timeout) == "number", 1, "wait", "timeout: number expected")
  local deadline = timeout and core.monotime() + timeout
  while not self.ended do
    if deadline and core.monotime() >= deadline then
      error(failure(self, "timeout", { timeout = timeout },
        ("the session did not end within %gs; the last output:\n"):format(timeout)))
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

-- open_all(client, {opts, ...}) -> {session, ...} | nil, "session i: message", code
-- Opens the sessions that open() would, the engine's slow parts for all of them at once: the
-- creates, then the starts, each on a connection of its own. All or none: when one fails,
-- the ones opened are closed and the containers made removed, and the first failure is told.
-- Every option is checked before anything is made.
function M.open_all(client, list)
  check(getmetatable(client) == client_mod.Client, 1, "open_all", "a dockerpty client expected")
  check(type(list) == "table", 2, "open_all", "a list of open() options expected")
  local sessions, plans = {}, {}
  for i, opts in ipairs(list) do
    local ok, self, plan, code = pcall(prepare, client, opts, "open_all", 2)
    if not ok then
      error((tostring(self):gsub("^(bad argument #%d+ to 'open_all' %()", "%1session " .. i .. ": ")), 2)
    end
    if not self then return nil, ("session %d: %s"):format(i, plan), code end
    sessions[i], plans[i] = self, plan
  end
  local failed
  local function note(i, err, code)
    if not failed then failed = { i, err, code } end
  end
  -- Sends a request for every session that wants one, then reads every answer sent: each
  -- made container is known to its session, whatever failed.
  local function all_at_once(wants, send, got)
    local answers = {}
    for i = 1, #sessions do
      if wants(i) then
        local a, err, code = send(i)
        if not a then note(i, err, code) break end
        answers[i] = a
      end
    end
    for i = 1, #sessions do
      local a = answers[i]
      if a then
        local r, err, code = a:result()
        a:close()
        if r then got(i, r) else note(i, err, code) end
      end
    end
    return not failed
  end
  local ok, err = pcall(function()
    if not all_at_once(function(i) return plans[i].create end,
      function(i)
        return client:post_later("/containers/create", { query = { name = plans[i].name }, body = plans[i].create })
      end,
      function(i, made) sessions[i]:_made(made.Id, plans[i]) end) then return end
    for i, self in ipairs(sessions) do
      local cok, cerr, ccode = self:_connect(plans[i])
      if not cok then return note(i, cerr, ccode) end
    end
    if not all_at_once(function(i) return plans[i].start end,
      function(i) return client:start_later(sessions[i].container) end, function() end) then return end
    for i, self in ipairs(sessions) do
      local plan = plans[i]
      local rok, rerr, rcode = self:_ready(plan.opts, plan.keys, plan.handlers)
      if not rok then return note(i, rerr, rcode) end
    end
  end)
  if ok and not failed then return sessions end
  for _, self in ipairs(sessions) do self.on_exit = nil end -- never handed over
  M.close_all(sessions)
  if not ok then error(err, 0) end
  return nil, ("session %d: %s"):format(failed[1], failed[2]), failed[3]
end

-- close_all(sessions) -> true | nil, "session i: message": closes every session as close()
-- does, the containers they made killed all at once before they are removed.
function M.close_all(sessions)
  check(type(sessions) == "table", 1, "close_all", "a list of sessions expected")
  for i, self in ipairs(sessions) do
    check(getmetatable(self) == Live, 1, "close_all", ("session %d: a session expected"):format(i))
  end
  local kills = {}
  for i, self in ipairs(sessions) do
    if self.created and self.container and not self.ended then
      kills[i] = self.client:post_later("/containers/" .. self.container .. "/kill", { query = { signal = "SIGKILL" } })
    end
  end
  for i, self in ipairs(sessions) do
    local k = kills[i]
    -- once killed, its end is near: waited for, the removal finds it stopped
    if k and k:result() and self.waiter then self.waiter:result() end
    if k then k:close() end
  end
  local first
  for i, self in ipairs(sessions) do
    local cok, cerr = self:close()
    if not cok and not first then first = ("session %d: %s"):format(i, cerr) end
  end
  if first then return nil, first end
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
