-- Scale, ours: N exec sessions in one running container, all pumped at once by this one
-- process (dockerpty.open + dockerpty.together), each running `seq 1 M` with no tty.
-- Every session's output is compared with what seq prints.
--
--   lua5.4 bench/scale.lua CONTAINER N M
-- prints "sessions=N intact=K hwm_kb=X rss_kb=Y seconds=S" and exits 0 when all are intact.
local dockerpty = require "dockerpty"
local bench = require "benchlib"

local container, n, m = arg[1], tonumber(arg[2]), tonumber(arg[3])
assert(container and n and m, "usage: scale.lua CONTAINER N M")

local expected = {}
for i = 1, m do expected[i] = tostring(i) end
expected = table.concat(expected, "\n") .. "\n"

local function status_kb(field)
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match(field .. ":%s*(%d+)"))
end

local t0 = bench.now()
local client = assert(dockerpty.client())
local sessions, outputs = {}, {}
for i = 1, n do
  local parts = {}
  outputs[i] = parts
  sessions[i] = assert(dockerpty.open(client, {
    container = container, command = { "seq", "1", tostring(m) }, tty = false, interactive = false,
    on_output = function(data, stream)
      if stream == 1 then parts[#parts + 1] = data end
    end,
  }))
end
local results = dockerpty.together(sessions, function(s) return s:wait({ timeout = 120 }) end)
local intact = 0
for i = 1, n do
  local r = results[i]
  if r and r[1] and r[2] == 0 and table.concat(outputs[i]) == expected then intact = intact + 1 end
  sessions[i]:close()
end
local seconds = bench.now() - t0
io.write(("sessions=%d intact=%d hwm_kb=%d rss_kb=%d seconds=%.3f\n"):format(n, intact,
  status_kb("VmHWM"), status_kb("VmRSS"), seconds))
os.exit(intact == n and 0 or 1)
