-- The commands around a session: start (attached or not), stop, restart and kill, as the
-- docker CLI has them: each container named is echoed back, or its error said on a line.
local dockerpty = require "dockerpty"
local escape = require("dockerpty.client").escape
local sel = require "dockerpty.select"
local base = require "dockerpty.cli.base"

local exit_with, fail = base.exit_with, base.fail

local M = {}

-- Failures that no other container would escape: the engine is not there, or not usable.
local FATAL = { connect = true, tls = true, timeout = true, config = true, version = true, transport = true }

-- Does act(ref) for each container named, as docker does: the name echoed on success, the
-- engine's message otherwise; status 1 when any failed.
local function each(args, act)
  local status = 0
  for _, ref in ipairs(args) do
    local ok, err, code
    if ref == "" then
      err = base.EMPTY_NAME
    else
      ok, err, code = act(ref)
    end
    if ok then
      io.stdout:write(ref, "\n")
      io.stdout:flush()
    else
      if FATAL[code] then fail(err, code) end
      io.stderr:write("dockerpty: ", sel.printable(err), "\n")
      status = 1
    end
  end
  return status
end

local TIME = { short = "t", long = "time", kind = "int", help = "Seconds to wait before killing the container" }

M.start = {
  usage = "dockerpty start [OPTIONS] CONTAINER [CONTAINER...]",
  summary = "Start one or more stopped containers (with -a, attached here, as run is)",
  interspersed = true,
  min_args = 1,
  flags = {
    { short = "a", long = "attach", kind = "bool", help = "Attach STDOUT/STDERR and forward signals" },
    { short = "i", long = "interactive", kind = "bool", help = "Attach container's STDIN" },
    base.DETACH_KEYS,
    base.RECORD,
    base.HELP,
  },
}

function M.start.handler(client, opts, args, env)
  if not (opts.attach or opts.interactive) then
    return each(args, function(ref) return client:start(ref) end)
  end
  if #args > 1 then exit_with(1, "you cannot start and attach multiple containers at once") end
  if args[1] == "" then exit_with(1, base.EMPTY_NAME) end
  local keys = base.detach_keys(opts, env.getenv)
  if opts.record then base.check_record(opts.record) end
  local id, err, code = sel.resolve(client, args[1])
  if not id then fail(err, code, type(code) == "number" and 1 or nil) end
  local info
  info, err, code = client:inspect_container(id)
  if not info then fail(err, code) end
  base.check_tty(opts.interactive, info.Config.Tty)
  -- attached before it starts, so that nothing it prints first is lost
  local status, serr, kind = dockerpty.start(client, id, {
    interactive = opts.interactive == true, detach_keys = keys, record = opts.record,
  })
  return base.session_result(status, serr, kind, true) -- as docker start -a: a detach is no error
end

-- The engine's wait when neither -t nor the container sets one, as dockerd has it.
local DEFAULT_STOP_TIMEOUT = 10

-- A stop or a restart ("stop", "restart") of ref. With -t, as the client makes it; without,
-- the engine waits the container's own stop timeout, read first, so that the request still has
-- a deadline (that wait plus the client's), as the client gives one with t: an engine that
-- never answers cannot hold the command forever.
local function stop_or_restart(client, what, ref, t)
  if t ~= nil then return client[what](client, ref, { t = t }) end
  local info, err, code = client:inspect_container(ref)
  if not info then return nil, err, code end
  local own = type(info.Config) == "table" and tonumber(info.Config.StopTimeout) or DEFAULT_STOP_TIMEOUT
  local deadline = 0 -- none when the container waits for ever, or the client has no deadline
  if own >= 0 and client.timeout > 0 then deadline = math.min(client.timeout + own, 2147483) end
  return client:request("POST", "/containers/" .. escape(ref) .. "/" .. what, { timeout = deadline })
end

M.stop = {
  usage = "dockerpty stop [OPTIONS] CONTAINER [CONTAINER...]",
  summary = "Stop one or more running containers",
  interspersed = true,
  min_args = 1,
  flags = { TIME, base.HELP },
}

function M.stop.handler(client, opts, args)
  return each(args, function(ref) return stop_or_restart(client, "stop", ref, opts.time) end)
end

M.restart = {
  usage = "dockerpty restart [OPTIONS] CONTAINER [CONTAINER...]",
  summary = "Restart one or more containers",
  interspersed = true,
  min_args = 1,
  flags = { TIME, base.HELP },
}

function M.restart.handler(client, opts, args)
  return each(args, function(ref) return stop_or_restart(client, "restart", ref, opts.time) end)
end

M.kill = {
  usage = "dockerpty kill [OPTIONS] CONTAINER [CONTAINER...]",
  summary = "Kill one or more running containers",
  interspersed = true,
  min_args = 1,
  flags = {
    { short = "s", long = "signal", kind = "string", help = "Signal to send to the container (KILL unless told)" },
    base.HELP,
  },
}

function M.kill.handler(client, opts, args)
  local signal = opts.signal
  if signal == "" then signal = nil end
  return each(args, function(ref) return client:kill(ref, signal) end)
end

return M
