-- Opening and closing many sessions: N shells in new containers opened one after another
-- (dockerpty.open, then close) against all at once (dockerpty.open_all, close_all), rounds
-- alternating, each session checked to answer before it is closed.
--
--   LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/5.4/?.so;;" lua5.4 bench/open_many.lua [N [ROUNDS]]
-- prints one line per round and the medians: "one after another: open X s, close Y s".
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"

local n, rounds = tonumber(arg[1]) or 20, tonumber(arg[2]) or 5
local client = assert(dockerpty.client())
local label = "dockerpty.bench"
local run_id = ("open_many-%d"):format(math.floor(core.monotime() * 1000) % 1000000)

local function specs()
  local list = {}
  for i = 1, n do
    list[i] = { image = "busybox", command = { "sh" }, env = { N = tostring(i) }, labels = { [label] = run_id } }
  end
  return list
end

-- Every session answers: its shell runs and reads its input.
local function check(sessions)
  local results = dockerpty.together(sessions, function(s, i)
    s:expect("/ # ", { plain = true, timeout = 30 })
    s:send("echo n=$N\r")
    local _, got = s:expect("n=(%d+)\r", { timeout = 30 })
    assert(tonumber(got) == i, "a session answered for another")
    return true
  end)
  for i, r in ipairs(results) do assert(r[1], ("session %d: %s"):format(i, tostring(r[2]))) end
end

local function sequential()
  local t0 = core.monotime()
  local sessions = {}
  for i, o in ipairs(specs()) do sessions[i] = assert(dockerpty.open(client, o)) end
  local opened = core.monotime() - t0
  check(sessions)
  t0 = core.monotime()
  for _, s in ipairs(sessions) do assert(s:close()) end
  return opened, core.monotime() - t0
end

local function together()
  local t0 = core.monotime()
  local sessions = assert(dockerpty.open_all(client, specs()))
  local opened = core.monotime() - t0
  check(sessions)
  t0 = core.monotime()
  assert(dockerpty.close_all(sessions))
  return opened, core.monotime() - t0
end

local function median(t)
  table.sort(t)
  local m = #t // 2
  return #t % 2 == 1 and t[m + 1] or (t[m] + t[m + 1]) / 2
end

local function cleanup()
  local list = client:containers { all = true, filters = { label = { label .. "=" .. run_id } } }
  for _, ct in ipairs(list or {}) do client:remove_container(ct.Id, { force = true }) end
end

local ok, err = pcall(function()
  local figures = { seq = { {}, {} }, all = { {}, {} } }
  for round = 1, rounds do
    for _, way in ipairs(round % 2 == 1 and { "seq", "all" } or { "all", "seq" }) do
      local o, c = (way == "seq" and sequential or together)()
      figures[way][1][round], figures[way][2][round] = o, c
      io.write(("round %d %-16s open %.3f s, close %.3f s\n"):format(round,
        way == "seq" and "one after another" or "together", o, c))
    end
  end
  local so, sc = median(figures.seq[1]), median(figures.seq[2])
  local ao, ac = median(figures.all[1]), median(figures.all[2])
  io.write(("%d sessions, median of %d rounds\n"):format(n, rounds))
  io.write(("one after another: open %.3f s, close %.3f s\n"):format(so, sc))
  io.write(("together:          open %.3f s, close %.3f s (%.1fx, %.1fx faster)\n"):format(ao, ac, so / ao, sc / ac))
end)
cleanup()
if not ok then
  io.stderr:write("open_many: ", tostring(err), "\n")
  os.exit(1)
end
