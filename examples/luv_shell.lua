-- A small shell of our own around two container terminals, on a luv (libuv) loop:
-- ctrl-b switches between them; when the shell in front exits, the other comes to the front;
-- it ends when both shells have exited.
--   lua5.4 examples/luv_shell.lua     (from a checkout, after make; LUA_PATH/LUA_CPATH as the README says)
local uv = require "luv"
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"

local client = assert(dockerpty.client())
local rows, cols = core.winsize(1)
rows, cols = rows or 24, cols or 80

local sessions, active, polls = {}, 1, {}

local function show(text) io.stdout:write(text) io.stdout:flush() end

-- Output of the session in front goes to the terminal; the other one's waits its turn.
local function banner(i) show(("\r\n\27[7m[%d] container %s (ctrl-b switches)\27[0m\r\n"):format(i, sessions[i].container:sub(1, 12))) end

local function refresh(i)
  local s = sessions[i]
  local out = s:output({ raw = true })
  if i == active and s.shown < #out then
    show(out:sub(s.shown + 1))
    s.shown = #out
  end
end

local function all_ended()
  for _, s in ipairs(sessions) do if not s.ended then return false end end
  return true
end

-- The next session after the one in front whose shell still runs, if any.
local function next_live()
  for k = 1, #sessions - 1 do
    local j = (active + k - 1) % #sessions + 1
    if not sessions[j].ended then return j end
  end
end

local function bring_to_front(i)
  active = i
  banner(i)
  sessions[i].shown = math.max(0, #sessions[i]:output({ raw = true }) - 2000)
  refresh(i)
end

local loop_done = false
local function rewatch(i)
  local s = sessions[i]
  for _, h in ipairs(polls[i] or {}) do h:stop(); h:close() end
  polls[i] = {}
  for _, w in ipairs(s:fds()) do
    local h = uv.new_poll(w[1])
    h:start(w[2], function()
      s:step()
      refresh(i)
      rewatch(i)
      if all_ended() then
        if not loop_done then loop_done = true; uv.stop() end
      elseif s.ended and i == active then
        -- keys typed from now on go to a shell that can read them
        bring_to_front(next_live())
      end
    end)
    polls[i][#polls[i] + 1] = h
  end
end

for i = 1, 2 do
  local s = assert(dockerpty.open(client, { image = "busybox", command = { "sh" }, size = { rows - 1, cols },
    on_exit = function(code) show(("\r\n[%d exited with code %s]\r\n"):format(i, tostring(code))) end }))
  s.shown = 0
  sessions[i] = s
end

local mode = assert(core.raw(0))
local ok, err = pcall(function()
  banner(active)
  local stdin = uv.new_poll(0)
  stdin:start("r", function()
    local data = core.read(0, 4096, 0)
    if data == nil then uv.stop() return end
    -- ctrl-b is ours: the next session comes to the front
    local before, after = data:match("^(.-)\2(.*)$")
    if before then
      if before ~= "" and not sessions[active].ended then sessions[active]:write(before) end
      local j = next_live()
      if j then bring_to_front(j) else show("\r\n[no other shell runs]\r\n") end
      data = after
    end
    if data ~= "" and not sessions[active].ended then
      sessions[active]:write(data)
      sessions[active]:step()
      rewatch(active)
    end
  end)
  local winch = uv.new_signal()
  winch:start("sigwinch", function()
    local r, c = core.winsize(1)
    if r then for _, s in ipairs(sessions) do s:resize(r - 1, c) end end
  end)
  for i = 1, #sessions do sessions[i]:step(); refresh(i); rewatch(i) end
  uv.run()
  -- every handle closed, and the loop run until their close callbacks are done: a handle
  -- still in the loop when Lua exits would be freed under it
  uv.walk(function(h) if not h:is_closing() then h:close() end end)
  uv.run()
end)
mode:restore()
for _, s in ipairs(sessions) do s:close() end
if not ok then io.stderr:write("luv_shell: ", tostring(err), "\n") os.exit(1) end
