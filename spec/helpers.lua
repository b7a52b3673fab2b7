-- What the specs share: the engine they run against, the TLS material, clean-up, subprocesses.
--
-- What a spec creates on the engine carries this run's label, and clean-up removes only that,
-- so two runs sharing an engine (and other people's containers on it) leave each other alone:
--   helpers.run_id        this run's id: DOCKERPTY_SPEC_RUN (scripts/test sets one for both
--                         Luas), else one made by this process
--   helpers.label         the label key, "dockerpty.spec.<run_id>", given with any value:
--                         helpers.container adds it, `-l helpers.label` and
--                         `labels = {[helpers.label] = ""}` put it on what the command and
--                         dockerpty.open make
--   helpers.run_filter()  the engine filter for this run's containers: {label = {helpers.label}}
--   helpers.ours(c)       this run's containers, stopped ones too (GET /containers/json)
--   helpers.cleanup(c)    removes them
--   helpers.run_env       {DOCKERPTY_SPEC_RUN = run_id}: the programs run_lua, pty_run and
--                         dockerpty start get it, so that a child's helpers agree
local dockerpty = require "dockerpty"

local M = {}

M.state = os.getenv("DOCKERPTY_STATE") or "/var/lib/dockerpty-test"
M.tls = M.state .. "/tls"
M.tls_host = "tcp://127.0.0.1:2376"
M.lua = os.getenv("LUA") or "lua5.4"

-- A run id from the kernel's random uuid: unique across processes started in the same second.
local function new_run_id()
  local f = io.open("/proc/sys/kernel/random/uuid")
  local uuid = f and f:read("*l")
  if f then f:close() end
  return (uuid and uuid:gsub("-", ""):sub(1, 12)) or ("%d%05d"):format(os.time(), math.random(99999))
end

M.run_id = os.getenv("DOCKERPTY_SPEC_RUN") or new_run_id()
M.label = "dockerpty.spec." .. M.run_id
-- How much longer a program in a terminal may take to print or to end: scripts/valgrind sets
-- it, for Lua processes some thirty times slower under memcheck.
M.pace = tonumber(os.getenv("DOCKERPTY_SPEC_PACE") or "") or 1
M.run_env = { DOCKERPTY_SPEC_RUN = M.run_id }

function M.run_filter()
  return { label = { M.label } }
end

-- A client for the test engine; an engine that does not answer fails the spec, loudly.
function M.engine(opts)
  local c, err = dockerpty.client(opts)
  if c then
    local ok, perr = c:ping()
    if ok then return c end
    err = perr
  end
  error(("the test engine does not answer: %s (run scripts/engine, or make test)"):format(err), 2)
end

-- A busybox container that the spec's clean-up removes; body fields override the defaults.
function M.container(c, body, opts)
  body = body or {}
  body.Image = body.Image or "busybox"
  body.Labels = body.Labels or {}
  body.Labels[M.label] = "1"
  local r = assert(c:create_container(body, opts))
  return r.Id
end

-- This run's containers, stopped ones too.
function M.ours(c)
  return assert(c:containers { all = true, filters = M.run_filter() })
end

-- Removes every container this run created, and nothing else.
function M.cleanup(c)
  for _, ct in ipairs(M.ours(c)) do
    c:remove_container(ct.Id, { force = true })
  end
end

-- Removes the untagged images that carry this run's label: the classic builder keeps the
-- steps of a build that failed (a LABEL step, say) as images of their own.
function M.cleanup_images(c)
  local list = c:images { all = true,
    filters = require("dockerpty.core").json_encode { label = { M.label }, dangling = { "true" } } }
  for _, im in ipairs(list or {}) do c:remove_image(im.Id) end
end

-- What a Lua chunk run from the checkout puts first: the checkout's modules and built core.
M.prelude = ("package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path; "
  .. "package.cpath = %q .. package.cpath; "):format(package.cpath:match("^[^;]*;"))

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.shell_quote = shell_quote

-- The exit status of a shell command line, read the same way under every Lua: Lua 5.1 and
-- LuaJIT give no status from p:close(), so the shell prints it after the output, behind a
-- marker. A command killed by signal n gives 128 + n, as the shell reports it.
local STATUS_MARK = "__dockerpty_spec_status="

-- Runs cmd (a shell command line) through io.popen and returns its stdout and exit status.
local function popen_status(cmd)
  local p = assert(io.popen("( " .. cmd .. "\n)\nprintf '" .. STATUS_MARK .. "%d\\n' \"$?\""))
  local all = p:read("*a")
  p:close()
  local out, status = all:match("^(.*)" .. STATUS_MARK .. "(%d+)\n$")
  assert(out, "the shell printed no exit status: " .. all)
  return out, tonumber(status)
end
M.popen_status = popen_status

-- os.execute as Lua 5.2+ gives it, under every Lua: true, "exit", 0 on success; nil, "exit",
-- code or nil, "signal", n otherwise. (Lua 5.1 and LuaJIT return the raw wait status.)
function M.execute(cmd)
  local ok, how, code = os.execute(cmd)
  if type(ok) == "number" then
    if ok % 256 == 0 then
      code = math.floor(ok / 256) % 256
      how = "exit"
    else
      how, code = "signal", ok % 128
    end
    ok = code == 0 and how == "exit" or nil
  end
  return ok, how, code
end

-- Runs a Lua chunk in a fresh interpreter with env (a table; false unsets a variable) set,
-- from the checkout, with the built core on its path. Returns its output and exit status.
function M.run_lua(code, env)
  local parts = { "env", "DOCKERPTY_SPEC_RUN=" .. M.run_id }
  for k, v in pairs(env or {}) do
    if v == false then
      parts[#parts + 1] = "-u " .. k
    else
      parts[#parts + 1] = k .. "=" .. shell_quote(v)
    end
  end
  parts[#parts + 1] = M.lua .. " -e " .. shell_quote(M.prelude .. code) .. " 2>&1"
  return popen_status(table.concat(parts, " "))
end

local Pty = {}
Pty.__index = Pty

-- Reads until pattern (a Lua pattern, or plain text) shows up in what the program printed
-- since the last match; returns the match and its captures. Fails showing the output on a
-- timeout.
function Pty:expect(pattern, timeout, plain)
  local bound = (timeout or 10) * M.pace
  local deadline = os.time() + bound
  while true do
    local s, e = self.out:find(pattern, self.pos, plain)
    if s then
      local caps = plain and {} or { self.out:match(pattern, self.pos) }
      self.pos = e + 1
      if #caps > 0 then return (table.unpack or unpack)(caps) end
      return self.out:sub(s, e)
    end
    local chunk = self.p:read(0.05)
    if chunk == nil or os.time() > deadline then
      error(("expected %q within %ss; the program printed:\n%s"):format(pattern, bound,
        self.out:sub(math.max(1, #self.out - 2000))), 2)
    end
    self.out = self.out .. chunk
  end
end

-- Everything the program printed so far, reading what is ready.
function Pty:drain(seconds)
  local now = require("dockerpty.core").monotime
  local deadline = now() + (seconds or 0)
  repeat
    local chunk = self.p:read(0.02)
    if chunk == nil then break end
    self.out = self.out .. chunk
  until chunk == "" and now() >= deadline
  return self.out
end

function Pty:send(s) self.p:write(s) end
function Pty:resize(rows, cols) self.p:resize(rows, cols) end
function Pty:kill(sig) self.p:kill(sig) end
function Pty:settings() return self.p:settings() end
function Pty:close() self.p:close() end

-- Waits for the program to end, reading its output meanwhile: "exit", code | "signal", n.
function Pty:wait(timeout)
  local deadline = os.time() + (timeout or 10) * M.pace
  while true do
    local how, code = self.p:wait(0)
    if how then self:drain(0.05); return how, code end
    if os.time() > deadline then
      error("the program did not end; it printed:\n" .. self.out:sub(-2000), 2)
    end
    local chunk = self.p:read(0.05)
    if chunk then self.out = self.out .. chunk end
  end
end

-- Runs a command in a new pseudo-terminal of rows x cols; env adds variables.
function M.pty_run(cmd, opts)
  opts = opts or {}
  local testpty = require "testpty"
  local argv = { "env", "TERM=xterm", "DOCKERPTY_SPEC_RUN=" .. M.run_id }
  for k, v in pairs(opts.env or {}) do argv[#argv + 1] = k .. "=" .. v end
  for _, a in ipairs(cmd) do argv[#argv + 1] = a end
  local p = testpty.spawn(argv, opts.rows or 24, opts.cols or 80)
  return setmetatable({ p = p, out = "", pos = 1 }, Pty)
end

-- Runs a Lua chunk in a new pseudo-terminal, from the checkout, with the built core on its path.
function M.pty_lua(code, opts)
  return M.pty_run({ M.lua, "-e", M.prelude .. code }, opts)
end

-- A file's whole contents.
function M.read_file(name)
  local f = assert(io.open(name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- The md5 of a file's bytes, in hex.
function M.md5_file(name)
  local p = assert(io.popen("md5sum " .. name))
  local out = p:read("*a")
  p:close()
  return out:match("^(%x+)")
end

-- Runs bin/dockerpty with args (no terminal) and returns stdout, stderr, exit status.
function M.dockerpty(args, opts)
  opts = opts or {}
  local parts = { "env", "DOCKERPTY_SPEC_RUN=" .. M.run_id }
  for k, v in pairs(opts.env or {}) do parts[#parts + 1] = k .. "=" .. shell_quote(v) end
  parts[#parts + 1] = M.lua
  parts[#parts + 1] = "bin/dockerpty"
  for _, a in ipairs(args) do parts[#parts + 1] = shell_quote(a) end
  local err = os.tmpname()
  parts[#parts + 1] = "2>" .. err .. " <" .. (opts.stdin or "/dev/null")
  local out, status = popen_status(table.concat(parts, " "))
  local f = assert(io.open(err))
  local e = f:read("*a")
  f:close()
  os.remove(err)
  return out, e, status
end

return M
