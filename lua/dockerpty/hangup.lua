-- Ends an exec's process as a terminal's hangup would: SIGHUP, then SIGKILL after a grace
-- period to what is left. The engine has no call for it, and an exec goes on when its connection closes
-- (a shell left behind for each client that went away), so:
--   * on this machine's engine the signals go straight to the processes: the exec's host pid,
--     as the engine gives it, and every process of the session it leads, each checked to be
--     in the container's cgroup (which a pid reused by another process would not be);
--   * elsewhere a second exec in the container signals the processes whose environment
--     holds the session's marker (MARKER=<token>, given to the exec when it was made), which
--     needs sh, tr, grep and kill in the image (busybox has them).
local core = require "dockerpty.core"

local M = {}

M.MARKER = "DOCKERPTY_SESSION"
M.GRACE = 2 -- seconds between SIGHUP and SIGKILL

local SIGHUP, SIGKILL = 1, 9

-- A fresh marker value: 16 random bytes, in hex.
function M.token()
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(16)
  f:close()
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- The Env entry that marks an exec as the session's.
function M.env_entry(token)
  return M.MARKER .. "=" .. token
end

-- The exec's process on this machine, if it is one: its host pid and its container's id in
-- the pid's cgroup (which a pid reused by another process would not have).
local function local_process(client, info)
  if not client.endpoint:match("^unix://") then return nil end
  local pid = info.Pid
  if type(pid) ~= "number" or pid ~= math.floor(pid) or pid <= 1 or type(info.ContainerID) ~= "string" or #info.ContainerID < 12 then return nil end
  local f = io.open(("/proc/%d/cgroup"):format(pid), "r")
  if not f then return nil end
  local groups = f:read("a") or "" -- nil for a process that went as it was read
  f:close()
  if not groups:find(info.ContainerID, 1, true) then return nil end
  return pid
end

local function in_container(pid, container)
  local st = io.open(("/proc/%d/stat"):format(pid), "r")
  local text = st and st:read("a") -- nil, not "", for a process that went as it was read
  local state = text and text:match("%)%s+(%S)")
  if st then st:close() end
  if not state or state == "Z" then return false end -- gone, or ended and not yet reaped
  local f = io.open(("/proc/%d/cgroup"):format(pid), "r")
  if not f then return false end
  local groups = f:read("a") or "" -- nil for a process that went as it was read
  f:close()
  return groups:find(container, 1, true) ~= nil
end

-- The exec's process and every process of the session it leads, in the container: what a
-- terminal's hangup reaches (the shell and its jobs, whatever their process group).
local function session_of(pid, container)
  local pids = { pid }
  local p = io.popen("ls /proc 2>/dev/null")
  if not p then return pids end
  for name in p:lines() do
    local other = name:match("^%d+$") and tonumber(name)
    if other and other ~= pid then
      local f = io.open(("/proc/%d/stat"):format(other), "r")
      local stat = f and f:read("a")
      if f then f:close() end
      -- pid (comm) state ppid pgrp session ...: the comm may hold spaces and parentheses
      local sid = stat and stat:match("%)%s+%S+%s+%d+%s+%d+%s+(%d+)[^)]*$")
      if tonumber(sid) == pid and in_container(other, container) then pids[#pids + 1] = other end
    end
  end
  p:close()
  return pids
end

-- Those of pids still alive in the container, after sig to each.
local function signal_all(pids, sig, container)
  local left = {}
  for _, pid in ipairs(pids) do
    if in_container(pid, container) and core.kill(pid, sig) then left[#left + 1] = pid end
  end
  return left
end

local function running(client, exec_id)
  local info, err, code = client:exec_inspect(exec_id)
  if not info then
    if code == 404 then return false end
    return nil, err, code
  end
  return info.Running == true, info
end

local function wait_gone(client, exec_id, seconds)
  local deadline = core.monotime() + seconds
  repeat
    local on, err, code = running(client, exec_id)
    if on == nil then return nil, err, code end
    if not on then return true end
    core.sleep(0.05)
  until core.monotime() >= deadline
  return false
end

-- In the container: the processes whose environment holds the marker, SIGHUP, and SIGKILL
-- for those left after the grace period. $1 the marker entry, $2 the grace in seconds.
local REMOTE = [[
pids=
for e in /proc/[0-9]*/environ; do
  p=${e#/proc/}; p=${p%/environ}
  [ "$p" = $$ ] && continue
  tr '\000' '\n' <"$e" 2>/dev/null | grep -qxF "$1" && pids="$pids $p"
done
[ -n "$pids" ] || exit 0
kill -HUP $pids 2>/dev/null
i=0
while [ $i -lt $(($2 * 10)) ]; do
  alive=
  for p in $pids; do [ -d /proc/$p ] && alive="$alive $p"; done
  [ -n "$alive" ] || exit 0
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
kill -KILL $alive 2>/dev/null
exit 0
]]

local function remote(client, info, token, grace)
  local ex, err, code = client:exec_create(info.ContainerID, {
    Cmd = { "sh", "-c", REMOTE, "sh", M.env_entry(token), tostring(math.ceil(grace)) },
    AttachStdin = false, AttachStdout = false, AttachStderr = false, Tty = false,
  })
  if not ex then return nil, ("cannot end the session's processes in %s: %s"):format(info.ContainerID:sub(1, 12), err), code end
  local ok, serr, scode = client:request("POST", "/exec/" .. ex.Id .. "/start",
    { body = { Detach = true, Tty = false } })
  if not ok then return nil, ("cannot end the session's processes in %s: %s"):format(info.ContainerID:sub(1, 12), serr), scode end
  return true
end

-- What is left of a hangup begun: on this machine, the processes sent SIGHUP and when the
-- grace period ends.
local Pending = {}
Pending.__index = Pending

-- pending:poll([now]) -> true once nothing is left to do: the processes have gone, or the
-- grace period is over and what is left has been sent SIGKILL. Never waits.
function Pending:poll(now)
  if self.how ~= "local" or #self.left == 0 then return true end
  self.left = signal_all(self.left, 0, self.container)
  if #self.left == 0 then return true end
  if (now or core.monotime()) < self.deadline then return false end
  signal_all(self.left, SIGKILL, self.container)
  self.left = {}
  return true
end

-- begin(client, exec_id, {token =, grace =}) -> pending | nil, message, code: a hangup's
-- first half, at once, for a caller with a loop of its own. pending.how is "gone" (it had
-- ended), "local" (SIGHUP sent here; pending:poll() sends SIGKILL once the grace is over) or
-- "marker" (a second exec started, which waits out the grace and kills on its own).
function M.begin(client, exec_id, opts)
  opts = opts or {}
  local grace = opts.grace or M.GRACE
  local on, info, code = running(client, exec_id)
  if on == nil then return nil, info, code end
  if not on then return setmetatable({ how = "gone", left = {} }, Pending) end
  local pid = local_process(client, info)
  if pid then
    local pids = session_of(pid, info.ContainerID)
    return setmetatable({ how = "local", container = info.ContainerID, pid = pid,
      left = signal_all(pids, SIGHUP, info.ContainerID), deadline = core.monotime() + grace }, Pending)
  end
  if not opts.token then
    return nil, "the exec runs on an engine elsewhere and carries no session marker", "config"
  end
  local ok, err, ecode = remote(client, info, opts.token, grace)
  if not ok then return nil, err, ecode end
  return setmetatable({ how = "marker", left = {}, grace = grace }, Pending)
end

-- hangup(client, exec_id, {token =, grace =}) -> true, how | nil, message, code
-- how: "gone" (it had ended), "local" (signalled here), "marker" (by a second exec). With
-- no token only a local process can be reached. Returns once the exec has ended.
function M.hangup(client, exec_id, opts)
  local p, err, code = M.begin(client, exec_id, opts)
  if not p then return nil, err, code end
  if p.how == "gone" then return true, "gone" end
  while not p:poll() do core.sleep(0.02) end
  local gone, werr, wcode = wait_gone(client, exec_id, p.how == "local" and 3 or p.grace + 3)
  if gone == nil then return nil, werr, wcode end
  if gone then return true, p.how end
  if p.how == "local" then return nil, ("the exec's process %d did not end"):format(p.pid), "signal" end
  return nil, "the exec's process did not end", "signal"
end

return M
