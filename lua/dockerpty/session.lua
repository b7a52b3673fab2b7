-- Terminal sessions: attach to a container or an exec, pump bytes until it ends or the user
-- detaches, and hand back the exit code. dockerpty.start, exec_command and start_exec.
local core = require "dockerpty.core"
local client_mod = require "dockerpty.client"
local record = require "dockerpty.record"
local filter = require "dockerpty.filter"
local hangup = require "dockerpty.hangup"

local M = {}

M.DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"

local SIGWINCH, SIGTSTP, SIGCONT = core.SIGWINCH, core.SIGTSTP, core.SIGCONT
local SIGHUP = 1
local SIGNAL_NAMES = { [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [15] = "SIGTERM",
  [SIGTSTP] = "SIGTSTP", [SIGCONT] = "SIGCONT" }

local Session = {}
Session.__index = Session
M.Session = Session

local check = client_mod.check

-- "ctrl-p,ctrl-q" and a table of extra bindings into the pump's list and the Lua handlers.
-- bindings: { ["ctrl-x"] = "detach" | function(session) }.
function M.key_bindings(detach_keys, bindings)
  local keys, handlers, seen = {}, {}, {}
  local function add(spec, action)
    local bytes, err = core.parse_keys(spec)
    if not bytes then return nil, err end
    if seen[bytes] then return nil, ("key spec %q is bound twice"):format(spec) end
    seen[bytes] = true
    keys[#keys + 1] = { bytes, detach = action == "detach" }
    handlers[#keys] = action
    return true
  end
  if detach_keys ~= "" then
    local ok, err = add(detach_keys or M.DEFAULT_DETACH_KEYS, "detach")
    if not ok then return nil, "detach keys: " .. err end
  end
  local not_keys = 'keys: a table of key spec = "detach" or a function expected'
  if bindings ~= nil and type(bindings) ~= "table" then return nil, not_keys end
  local specs = {}
  for spec in pairs(bindings or {}) do
    if type(spec) ~= "string" then return nil, not_keys end
    specs[#specs + 1] = spec
  end
  table.sort(specs)
  for _, spec in ipairs(specs) do
    local action = bindings[spec]
    if action ~= "detach" and type(action) ~= "function" then
      return nil, ("key binding %q: \"detach\" or a function expected"):format(spec)
    end
    local ok, err = add(spec, action)
    if not ok then return nil, err end
  end
  return keys, handlers
end

-- Shell-like words: "sh -c 'echo hi'" -> {"sh", "-c", "echo hi"}.
function M.split_command(s)
  local words, cur, quote, i, n, any = {}, {}, nil, 1, #s, false
  while i <= n do
    local c = s:sub(i, i)
    if quote then
      if c == quote then quote = nil
      elseif c == "\\" and quote == '"' and i < n then i = i + 1; cur[#cur + 1] = s:sub(i, i)
      else cur[#cur + 1] = c end
    elseif c == "'" or c == '"' then quote, any = c, true
    elseif c == "\\" and i < n then i = i + 1; cur[#cur + 1] = s:sub(i, i); any = true
    elseif c:match("%s") then
      if any or #cur > 0 then words[#words + 1] = table.concat(cur); cur, any = {}, false end
    else cur[#cur + 1] = c; any = true end
    i = i + 1
  end
  if quote then return nil, ("unterminated %s quote in command"):format(quote) end
  if any or #cur > 0 then words[#words + 1] = table.concat(cur) end
  return words
end

local function fd_of(file, default)
  if file ~= nil and io.type(file) ~= "file" then
    error("stdin, stdout and stderr: an open file expected, as io.stdin", 0)
  end
  return core.fileno(file or default)
end

-- The terminal whose size the container's pty follows: stdout if it is one, else stdin.
function Session:host_size()
  for _, fd in ipairs { self.out_fd, self.in_fd } do
    if fd and fd >= 0 and core.isatty(fd) then
      local h, w = core.winsize(fd)
      if h then return h, w end
    end
  end
end

local function engine_resize(self, h, w)
  if self.exec_id then return self.client:exec_resize(self.exec_id, h, w) end
  return self.client:resize(self.container, h, w)
end

-- The container's tty size; a recording gets it once the engine has taken it.
function Session:resize(h, w)
  check(type(h) == "number" and h > 0, 1, "resize", "positive height expected")
  check(type(w) == "number" and w > 0, 2, "resize", "positive width expected")
  local ok, err, code = engine_resize(self, h, w)
  if ok and self.recorder then self.recorder:resize(h, w) end
  return ok, err, code
end

-- Resizes to the host's size, retrying with a growing pause while the process is not up yet.
-- With redraw, a size one larger first, so that the program draws again even when the
-- size is the one it had (that one is not recorded).
function Session:follow_size(redraw)
  local h, w = self:host_size()
  if not h then return end
  if redraw then engine_resize(self, h + 1, w + 1) end
  for attempt = 0, 9 do
    if self:resize(h, w) then return true end
    core.sleep((attempt + 1) * 0.01)
  end
end

-- Sends bytes to the container's input, as if typed: after what was typed before.
function Session:send(bytes)
  check(type(bytes) == "string", 1, "send", "string expected")
  if self.pump then self.pump:flush_input() end
  return self.stream:write(bytes)
end

-- Shows a line to the user on the session's stdout, outside the container's output.
function Session:print(msg)
  local out = self.out_file or io.stdout
  out:write("\r\n[dockerpty] ", tostring(msg), "\r\n")
  out:flush()
end

-- Ends the session as a detach: the container goes on.
function Session:detach()
  self.stop = "detached"
end

function Session:close()
  if self.recorder then self.recorder:close(); self.recorder = nil end
  if self.mode then self.mode:restore(); self.mode = nil end
  if self.signals_on then core.signals(false); self.signals_on = false end
  if self.pump then self.pump:close(); self.pump = nil end
  if self.stream then self.stream:close(); self.stream = nil end
  if self.starter then self.starter:close(); self.starter = nil end
end
Session.__close = Session.close
Session.__gc = Session.close

-- A signal's resize: the container's terminal made the host's size, when the session follows it.
function Session:on_host_resize()
  if self.tty and self.follow then
    local h, w = self:host_size()
    if h then self:resize(h, w) end
  end
end

-- Raw mode again after a signal's handler gave the terminal its settings back.
function Session:reapply_raw()
  if not self.mode then return true end
  local ok, err = self.mode:reapply()
  if not ok then return nil, err, "terminal" end
  return true
end

-- The terminal taken again after a stop, and the container told of a size that may have
-- changed meanwhile.
function Session:resumed()
  local ok, err, code = self:reapply_raw()
  if not ok then return nil, err, code end
  self:on_host_resize()
  return true
end

-- What a signal sent to the client does: a resize, a forward to the container, a stop
-- with the terminal given back until the resume, or the terminal restored and the signal
-- let through.
function Session:on_signals()
  for _, sig in ipairs(core.pending_signals()) do
    if sig == SIGWINCH then
      self:on_host_resize()
    elseif self.sig_proxy and not self.tty and not self.exec_id then
      self.client:kill(self.container, SIGNAL_NAMES[sig] or sig)
      -- the signal's handler gave the terminal its settings back; the session goes on
      local ok, err, code = self:reapply_raw()
      if not ok then return nil, err, code end
    elseif sig == SIGCONT and self.cont_done then
      self.cont_done = false -- the resume of our own stop, taken care of already
    elseif sig == SIGCONT then
      local ok, err, code = self:resumed()
      if not ok then return nil, err, code end
    elseif sig == SIGTSTP then
      -- the handler gave the terminal back; taken again on the resume, before any output
      -- (at once, when the stop was discarded since nobody could have resumed it)
      self.cont_done = core.suspend()
      local ok, err, code = self:resumed()
      if not ok then return nil, err, code end
    else
      self:close()
      -- a hangup ends the exec's process too, as the terminal's would, where docker's exec
      -- leaves it running with nobody at its terminal
      if sig == SIGHUP and self.exec_id then
        hangup.hangup(self.client, self.exec_id, { token = self.hangup_token })
      end
      core.raise(sig)
      return nil, ("interrupted by signal %d"):format(sig), "signal"
    end
  end
  return true
end

-- The start's answer has come, or some of it: once whole, true or nil, message, code.
function Session:on_started()
  local ok, err, code = self.starter:poll()
  if ok == false then return false end
  self.pump:watch(nil)
  self.starter:close()
  self.starter = nil
  if not ok then return nil, err, code end
  if self.follow then self:follow_size(false) end
  return true
end

-- Pumps until the stream ends or the user detaches: "end" | "detached" | nil, message, code.
function Session:pump_loop()
  while true do
    local ev, arg, stream = self.pump:run()
    if ev == "output" then
      -- recording or filtering: the output passes through Lua on its way out
      if self.filter then arg = self.filter:feed(arg, stream) end
      local f = stream == 2 and self.err_file or self.out_file
      -- straight to the fd, which core.write_all waits for when another program left it non-blocking
      local ok, werr = f:flush()
      if ok then ok, werr = core.write_all(stream == 2 and self.err_fd or self.out_fd, arg) end
      if not ok then
        return nil, ("cannot write to %s: %s"):format(stream == 2 and "stderr" or "stdout", werr), "transport"
      end
      if self.recorder then self.recorder:output(arg) end
    elseif ev == "watch" then
      local ok, err, code = self:on_started()
      if ok == nil then return nil, err, code end
    elseif ev == "end" then
      if arg then return nil, "engine error: " .. arg, "engine" end
      if self.starter then
        -- the output ended before the start's answer came: a failed start ends it too
        local ok, err, code = self.starter:result()
        if not ok then return nil, err, code end
      end
      return "end"
    elseif ev == "detach" then
      return "detached"
    elseif ev == "key" then
      self.handlers[arg](self)
      if self.stop then return self.stop end
    elseif ev == "signal" then
      local ok, err, code = self:on_signals()
      if not ok then return nil, err, code end
    elseif ev == nil then
      return nil, arg, "transport"
    end
  end
end

-- Sets the session up around an open stream and runs it; always closes what it opened.
local function run(self, after_attach)
  local ok, res, err, code = pcall(function()
    -- signals first: a stop or a crash from the moment raw mode is on finds its handler
    if self.follow or self.raw or self.sig_proxy then
      core.signals(true)
      self.signals_on = true
    end
    if self.raw then
      local mode, merr = core.raw(self.in_fd)
      if not mode then return nil, merr, "terminal" end
      self.mode = mode
    end
    if self.record then
      local h, w = self:host_size()
      local rec, rerr = record.open(self.record, h or 24, w or 80)
      if not rec then return nil, rerr, "config" end
      rec.crlf = not self.tty -- a terminal shows a lone newline as CR LF (onlcr)
      self.recorder = rec
    end
    self.pump = core.pump(self.stream, {
      stdin = self.attach_stdin and self.in_fd or nil,
      stdout = self.out_fd, stderr = self.err_fd, capture = self.recorder ~= nil or self.filter ~= nil,
      tty = self.tty, keys = self.keys, signals = self.signals_on,
    })
    local aok, aerr, acode = after_attach(self)
    if not aok then return nil, aerr, acode end
    return self:pump_loop()
  end)
  self:close()
  if not ok then error(res, 0) end
  return res, err, code
end

local function new_session(client, opts, fields)
  local keys, handlers = M.key_bindings(opts.detach_keys, opts.keys)
  if not keys then return nil, handlers, "config" end
  local self = setmetatable(fields, Session)
  self.client = client
  -- As in docker, keys are only watched on a tty: piped input may hold any bytes.
  if self.tty then self.keys, self.handlers = keys, handlers else self.keys, self.handlers = {}, {} end
  self.in_fd = fd_of(opts.stdin, io.stdin)
  self.out_file, self.err_file = opts.stdout or io.stdout, opts.stderr or io.stderr
  self.out_fd = fd_of(self.out_file)
  self.err_fd = fd_of(self.err_file)
  self.record = opts.record
  if opts.filter_escapes then self.filter = filter.per_stream() end
  local stdin_tty = core.isatty(self.in_fd)
  -- As docker run -t: a tty container with stdin not a terminal gets no input.
  if self.tty and not stdin_tty then self.attach_stdin = false end
  if opts.raw ~= nil then self.raw = opts.raw and self.attach_stdin or false
  else self.raw = self.tty and self.attach_stdin and stdin_tty end
  self.follow = self.tty and opts.resize ~= false and self:host_size() ~= nil
  self.sig_proxy = opts.sig_proxy ~= false and not self.tty
  return self
end

local function check_client(client, fname)
  check(getmetatable(client) == client_mod.Client, 1, fname, "a dockerpty client expected")
end

-- The keys the engine watches for, for a session whose own are detach_keys. The engine falls
-- back to ctrl-p,ctrl-q when given none, so "none" gives it keys nobody types: on an attach,
-- bytes that never occur in UTF-8 (a query carries any byte); an exec's keys travel in JSON,
-- which carries only ASCII to them, so there a run of eight rarely typed control keys.
local NO_ATTACH_KEYS = "\xff,\xfe,\xff,\xfe,\xff,\xfe,\xff,\xfe"
local NO_EXEC_KEYS = "ctrl-],ctrl-@,ctrl-],ctrl-@,ctrl-],ctrl-@,ctrl-],ctrl-@"
-- A spec the engine reads as docker does: its names are lower-case, and "DEL" upper-case.
local KEY_NAMES = { [0] = "ctrl-@", [27] = "ctrl-[", [28] = "ctrl-\\", [29] = "ctrl-]",
  [30] = "ctrl-^", [31] = "ctrl-_", [127] = "DEL" }
for b = 1, 26 do KEY_NAMES[b] = "ctrl-" .. string.char(96 + b) end
function M.engine_detach_keys(detach_keys, exec)
  if detach_keys == "" then return exec and NO_EXEC_KEYS or NO_ATTACH_KEYS end
  local bytes = core.parse_keys(detach_keys or M.DEFAULT_DETACH_KEYS)
  if not bytes then return detach_keys end -- refused before it could get here
  local names = {}
  for i = 1, #bytes do
    local b = bytes:byte(i)
    names[i] = KEY_NAMES[b] or string.char(b)
  end
  return table.concat(names, ",")
end

-- Attaches to a container known by what start() needs of it, starts it if it is not running,
-- and pumps until it ends.
local function start_known(client, known, opts)
  local self, serr, scode = new_session(client, opts, {
    container = known.id,
    tty = known.tty,
    attach_stdin = opts.interactive ~= false and known.open_stdin,
  })
  if not self then return nil, serr, scode end
  -- Registered first, so the exit code is this run's even if the engine removes the
  -- container (AutoRemove) the moment it ends.
  local waiter, werr, wcode = client:wait_later(known.id, known.auto_remove and "removed" or "next-exit")
  if not waiter then return nil, werr, wcode end
  local stream, herr, hcode = client:attach_socket(known.id, {
    stdin = self.attach_stdin, logs = opts.logs, detach_keys = M.engine_detach_keys(opts.detach_keys),
  })
  if not stream then waiter:close(); return nil, herr, hcode end
  self.stream = stream

  -- run() raises what a key's function raised, with the terminal put back: the wait goes too
  local rok, res, rerr, rcode = pcall(run, self, function(s)
    if known.running then
      if s.follow then s:follow_size(true) end
      return true
    end
    if s.follow then
      -- A terminal's size is set before the first prompt can be answered.
      local ok, e, c = client:start(s.container)
      if not ok then return nil, e, c end
      s:follow_size(false)
      return true
    end
    -- Pumped while the engine starts it: the first output is not held up by the answer.
    local starter, e, c = client:start_later(s.container)
    if not starter then return nil, e, c end
    s.starter = starter
    s.pump:watch(starter:fileno())
    return true
  end)
  if not rok then
    waiter:close()
    error(res, 0)
  end
  if res ~= "end" then
    waiter:close()
    if res == "detached" then return nil, "detached" end
    return nil, rerr, rcode
  end
  local w, err2, code2 = waiter:result()
  if not w then return nil, err2, code2 end
  return w.StatusCode
end

local function check_start(client, container, opts, fname, opts_argn)
  check_client(client, fname)
  check(type(container) == "string" and container ~= "", 2, fname, "a container name or id expected")
  opts = opts or {}
  check(type(opts) == "table", opts_argn, fname, "table expected")
  return opts
end

-- start(client, container, opts) -> exit code | nil, "detached" | nil, message, code
-- Attaches to the container, starts it if it is not running, and pumps until it ends.
function M.start(client, container, opts)
  opts = check_start(client, container, opts, "start", 3)
  local info, err, code = client:inspect_container(container)
  if not info then return nil, err, code end
  return start_known(client, {
    id = info.Id, tty = info.Config.Tty == true, open_stdin = info.Config.OpenStdin == true,
    auto_remove = info.HostConfig and info.HostConfig.AutoRemove == true,
    running = info.State.Running == true,
  }, opts)
end

-- start_created(client, id, body, opts): start() for a container this process has just
-- created from body (what create_container was given), so nothing needs inspecting.
function M.start_created(client, id, body, opts)
  opts = check_start(client, id, opts, "start_created", 4)
  check(type(body) == "table", 3, "start_created", "the create body expected")
  return start_known(client, {
    id = id, tty = body.Tty == true, open_stdin = body.OpenStdin == true,
    auto_remove = body.HostConfig and body.HostConfig.AutoRemove == true, running = false,
  }, opts)
end

-- The exit code of an exec once the engine has noticed that it ended.
local function exec_exit_code(client, exec_id)
  for attempt = 1, 100 do
    local info, err, code = client:exec_inspect(exec_id)
    if not info then return nil, err, code end
    if not info.Running then
      if info.ExitCode == core.null then return nil, "the exec ended with no exit code", "engine" end
      return info.ExitCode
    end
    core.sleep(math.min(attempt, 10) * 0.005)
  end
  return nil, "the exec's stream ended but it still runs", "engine"
end

-- start_exec(client, exec_id, opts) -> exit code | nil, "detached" | nil, message, code
-- A SIGHUP ends the exec's process too (dockerpty.hangup); token: the marker the exec was
-- made with, for an engine elsewhere.
function M.start_exec(client, exec_id, opts, token)
  check_client(client, "start_exec")
  check(type(exec_id) == "string" and exec_id ~= "", 2, "start_exec", "an exec id expected")
  opts = opts or {}
  check(type(opts) == "table", 3, "start_exec", "table expected")
  local info, err, code = client:exec_inspect(exec_id)
  if not info then return nil, err, code end
  local pc = info.ProcessConfig
  local self, serr, scode = new_session(client, opts, {
    container = info.ContainerID,
    exec_id = info.ID,
    tty = pc.tty == true,
    attach_stdin = opts.interactive ~= false and info.OpenStdin == true,
    hangup_token = token,
  })
  if not self then return nil, serr, scode end
  local stream, herr, hcode = client:exec_socket(info.ID, { tty = self.tty })
  if not stream then return nil, herr, hcode end
  self.stream = stream
  local res, rerr, rcode = run(self, function(s)
    if s.follow then s:follow_size(false) end
    return true
  end)
  if res == "end" then return exec_exit_code(client, self.exec_id) end
  if res == "detached" then return nil, "detached" end
  return nil, rerr, rcode
end

-- An exec whose output is all the caller wants, as docker's exec_run gives it, with no
-- terminal and no input: code, stdout, stderr | nil, message, code.
local function capture_exec(client, container, argv, opts)
  local tty = opts.tty == true
  local ex, err, code = client:exec_create(container, {
    Cmd = argv, AttachStdin = false, AttachStdout = true, AttachStderr = true, Tty = tty,
    Env = opts.env, User = opts.user, WorkingDir = opts.workdir, Privileged = opts.privileged,
  })
  if not ex then return nil, err, code end
  local stream, serr, scode = client:exec_socket(ex.Id, { tty = tty })
  if not stream then return nil, serr, scode end
  local parts = { {}, {}, {} } -- stdout, stderr, the engine's error
  local demux = not tty and core.demux()
  while true do
    local data, rerr, rcode = stream:read(65536, -1)
    if data == nil then
      stream:close()
      if rerr then return nil, rerr, rcode or "transport" end
      break
    end
    if demux then
      local frames, derr = demux:feed(data)
      if not frames then stream:close(); return nil, derr, "transport" end
      for _, f in ipairs(frames) do
        local p = parts[f[1]]
        if p then p[#p + 1] = f[2] end
      end
    elseif data then
      parts[1][#parts[1] + 1] = data
    end
  end
  if parts[3][1] then return nil, table.concat(parts[3]), "engine" end
  local exit, xerr, xcode = exec_exit_code(client, ex.Id)
  if not exit then return nil, xerr, xcode end
  return exit, table.concat(parts[1]), table.concat(parts[2])
end

-- exec_command(client, container, command, opts) -> exit code | nil, "detached" | nil, message, code
-- command is a list of words or a string split as a shell would. opts also take tty, env,
-- user, workdir and privileged, as docker exec does. With capture = true no terminal is
-- involved: -> code, stdout, stderr (apart, unless tty = true) | nil, message, code.
function M.exec_command(client, container, command, opts)
  check_client(client, "exec_command")
  check(type(container) == "string" and container ~= "", 2, "exec_command",
    "a container name or id expected")
  check(type(command) == "string" or type(command) == "table", 3, "exec_command",
    "a command string or list expected")
  opts = opts or {}
  check(type(opts) == "table", 4, "exec_command", "table expected")
  local argv = command
  if type(command) == "string" then
    local err
    argv, err = M.split_command(command)
    if not argv then return nil, err, "config" end
  end
  if #argv == 0 then return nil, "no command to run", "config" end
  check(opts.capture == nil or type(opts.capture) == "boolean", 4, "exec_command", "capture: a boolean expected")
  if opts.capture then return capture_exec(client, container, argv, opts) end
  local keys_ok, keys_err = M.key_bindings(opts.detach_keys, opts.keys)
  if not keys_ok then return nil, keys_err, "config" end -- before the engine sees them
  local interactive = opts.interactive ~= false
  local in_fd = fd_of(opts.stdin, io.stdin)
  local tty = opts.tty
  if tty == nil then tty = interactive and core.isatty(in_fd) end
  -- the marker by which a hangup finds the session's processes on an engine elsewhere
  local token = hangup.token()
  local env = { hangup.env_entry(token) }
  if type(opts.env) == "table" then
    local names = {}
    for k in pairs(opts.env) do if type(k) == "string" then names[#names + 1] = k end end
    table.sort(names)
    for _, e in ipairs(opts.env) do env[#env + 1] = e end
    for _, k in ipairs(names) do env[#env + 1] = k .. "=" .. tostring(opts.env[k]) end
  end
  local body = {
    Cmd = argv, AttachStdin = interactive, AttachStdout = true, AttachStderr = true,
    Tty = tty, Env = env, User = opts.user, WorkingDir = opts.workdir,
    Privileged = opts.privileged, DetachKeys = M.engine_detach_keys(opts.detach_keys, true),
  }
  local v, verr, vcode = client:negotiate()
  if not v then return nil, verr, vcode end
  if tty and client_mod.version_number(v) >= client_mod.version_number("1.42") then
    local out_fd = fd_of(opts.stdout, io.stdout)
    local h, w = core.winsize(core.isatty(out_fd) and out_fd or in_fd)
    if h then body.ConsoleSize = { h, w } end
  end
  local ex, err, code = client:exec_create(container, body)
  if not ex then return nil, err, code end
  return M.start_exec(client, ex.Id, opts, token)
end

return M
