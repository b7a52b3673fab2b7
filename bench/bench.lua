-- The benchmark driver, run by bench/run from the checkout's root: every scenario for
-- dockerpty ("ours"), the docker CLI and Python dockerpty, rounds interleaved, medians,
-- ratios, targets; writes bench/RESULTS.md, bench/results.tsv and bench/results.png.
local bench = require "benchlib"
local testpty = require "testpty"

------------------------------------------------------------------------------------------
-- Settings

local args = { smoke = false }
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--smoke" then args.smoke = true
    elseif a == "--rounds" then i = i + 1; args.rounds = assert(tonumber(arg[i]), "--rounds N")
    elseif a == "--only" then i = i + 1; args.only = arg[i]
    elseif a == "--out" then i = i + 1; args.out = arg[i]
    elseif a == "--report" then i = i + 1; args.report = arg[i]
    else io.stderr:write("bench: unknown argument ", a, "\n"); os.exit(2) end
    i = i + 1
  end
end

local MB = 1024 * 1024
local cfg = args.smoke and {
  mode = "smoke", rounds = 1, out_bytes = 8 * MB, in_bytes = 4 * MB, keys = 50, idle_s = 2,
  scale_n = 10, scale_m = 2000, sink_bytes = 256 * MB, timeout = 60, start_runs = 1,
  pull_bytes = 5000000, ctx_big = 2, ctx_big_bytes = 4000000, ctx_small = 200, ctx_small_bytes = 10000,
  gw_sessions = 20, ppc_sessions = 5, gw_sink_bytes = 256 * MB,
} or {
  mode = "full", rounds = 5, out_bytes = 100 * MB, in_bytes = 50 * MB, keys = 500, idle_s = 10,
  scale_n = 100, scale_m = 2000, sink_bytes = 4096 * MB, timeout = 300, start_runs = 9,
  pull_bytes = 100000000, ctx_big = 3, ctx_big_bytes = 50000000, ctx_small = 5000, ctx_small_bytes = 10000,
  gw_sessions = 1000, ppc_sessions = 100, gw_sink_bytes = 1024 * MB,
}
cfg.rounds = args.rounds or cfg.rounds
local OUT = args.out or "bench"
local RUN_ID = os.getenv("BENCH_RUN_ID") or tostring(os.time())
local LABEL = "dockerpty.bench=" .. RUN_ID
local TMP = os.getenv("BENCH_TMP") or ("/tmp/dockerpty-bench-" .. RUN_ID)
local IMAGE = "busybox"
local TOOLS = { "ours", "docker", "python" }
local only = {}
if args.only then for s in args.only:gmatch("[^,]+") do only[s] = true end end
local function wanted(s) return not args.only or only[s] end
-- the gateway scenario's parts: --only gateway runs them all, --only gw-keys,gw-idle some
local GW_PARTS = { "keys", "out", "idle", "ceiling" }
local function gw_wanted(part) return not args.only or only.gateway or only["gw-" .. part] end
-- which part a metric of 10 belongs to, by its name's second word
local GW_PART = { key = "keys", out = "out", idle = "idle", open = "idle", ceiling = "ceiling" }
for _, part in ipairs(GW_PARTS) do if only["gw-" .. part] then only.gateway_part = true end end

------------------------------------------------------------------------------------------
-- Small helpers

local function log(fmt, ...) io.stderr:write(("[bench %s] " .. fmt .. "\n"):format(os.date("%H:%M:%S"), ...)) end

local function q(s)
  s = tostring(s)
  if s:match("^[%w%._/:=,+-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function join(argv)
  local t = {}
  for i, a in ipairs(argv) do t[i] = q(a) end
  return table.concat(t, " ")
end

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function writefile(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Runs a bash script; returns true when it exited 0.
local function bash(script)
  local ok = os.execute("bash -c " .. q(script))
  return ok == true
end

if not bash("mkdir -p " .. q(OUT)) then
  io.stderr:write("bench: cannot create the output directory ", OUT, "\n")
  os.exit(2)
end

local function capture(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local s = p:read("a")
  p:close()
  return (s:gsub("%s+$", ""))
end

local function concat(...)
  local r = {}
  for _, t in ipairs { ... } do for _, v in ipairs(t) do r[#r + 1] = v end end
  return r
end

local function median(xs)
  local t = {}
  for _, v in ipairs(xs) do t[#t + 1] = v end
  if #t == 0 then return nil end
  table.sort(t)
  local m = (#t + 1) // 2
  if #t % 2 == 1 then return t[m] end
  return (t[m] + t[m + 1]) / 2
end

local function percentile(sorted, p)
  if #sorted == 0 then return nil end
  local k = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[k]
end

local function rotate(list, n)
  local r = {}
  for i = 1, #list do r[i] = list[(i - 1 + n) % #list + 1] end
  return r
end

------------------------------------------------------------------------------------------
-- The engine, and the containers the benchmark makes (all labelled, all removed at the end)

local function engine_up()
  return capture("docker version --format '{{.Server.Version}}'") ~= ""
end

local function wait_engine()
  local t0 = bench.now()
  while not engine_up() do
    if bench.now() - t0 > 180 then error("the engine does not answer on " .. (os.getenv("DOCKER_HOST") or "unix:///var/run/docker.sock")) end
    log("waiting for the engine")
    bench.sleep(2)
  end
end

local helpers = {}
-- A helper container, started, kept across rounds; made again if the engine lost it.
-- `docker create` + `docker start` rather than `docker run -d`: a detached run leaves
-- Config.AttachStdin/Stdout/Stderr false, and Python dockerpty then attaches to nothing.
local function helper(name, argv)
  local id = helpers[name]
  if id and capture("docker inspect -f '{{.State.Running}}' " .. id) == "true" then return id end
  wait_engine()
  id = capture(join(concat({ "docker", "create", "--label", LABEL }, argv)))
  assert(id:match("^%x+$"), "cannot create the helper container " .. name)
  assert(capture("docker start " .. id) ~= "", "cannot start the helper container " .. name)
  helpers[name] = id
  return id
end

local function cleanup()
  os.execute("ids=$(docker ps -aq --filter label=" .. q(LABEL) .. " 2>/dev/null); "
    .. "[ -n \"$ids\" ] && docker rm -f $ids >/dev/null 2>&1; true")
end

------------------------------------------------------------------------------------------
-- The three tools, each asked to do the same thing

local BASE = {
  ours = { "lua5.4", "build/bench/prefix/bin/dockerpty" },  -- bench/run installs it there
  docker = { "docker" },
  python = { "/usr/bin/python3", "bench/py_dockerpty.py" },
}

-- run --rm [flags] busybox cmd...
local function run_argv(tool, flags, cmd)
  local rm = tool == "python" and {} or { "--rm" }  -- py_dockerpty.py's run always removes
  return concat(BASE[tool], { "run" }, rm, flags, { "--label", LABEL, IMAGE }, cmd)
end

-- exec [-it] container cmd...
local function exec_argv(tool, tty, id, cmd)
  local flags = tty and (tool == "python" and { "-t" } or { "-it" }) or {}
  return concat(BASE[tool], { "exec" }, flags, { id }, cmd)
end

local function attach_argv(tool, id)
  return concat(BASE[tool], { "attach", id })
end

------------------------------------------------------------------------------------------
-- Results

local results = {}   -- results[key][tool] = {values}
local fails = {}     -- fails[key][tool] = {reasons}: rounds that gave no value, and why
local infos = {}     -- infos[key][tool] = what a value means, when it differs between tools
local entries = {}   -- every measurement, for results.tsv: {sc, key, tool, round, value, unit, note}
local meta = {}      -- what the report's header says, kept in results.tsv too

local function record(sc, key, tool, round, value, unit)
  results[key] = results[key] or {}
  results[key][tool] = results[key][tool] or {}
  if value then table.insert(results[key][tool], value) end
  entries[#entries + 1] = { sc, key, tool, round, value, unit }
end

-- Why the last measurement of key by tool gave no value.
local function note(key, tool, text)
  text = tostring(text):gsub("[\t\n]", " ")
  fails[key] = fails[key] or {}
  fails[key][tool] = fails[key][tool] or {}
  table.insert(fails[key][tool], text)
  for i = #entries, 1, -1 do
    local e = entries[i]
    if e[2] == key and e[3] == tool then e[7] = text; break end
  end
end

local function info(key, tool, text)
  infos[key] = infos[key] or {}
  infos[key][tool] = tostring(text):gsub("[\t\n]", " ")
end

local function med(key, tool)
  return results[key] and results[key][tool] and median(results[key][tool])
end

-- Measures with fn(); on a failure waits for the engine and tries again (the engine may be
-- shared), at most twice more. fn returns true, ... or false, reason.
local function attempt(what, fn)
  local last
  for try = 1, args.smoke and 2 or 3 do
    local r = table.pack(pcall(fn))
    if r[1] and r[2] then return table.unpack(r, 2, r.n) end
    last = r[1] and r[3] or r[2]
    log("%s failed (try %d): %s", what, try, tostring(last))
    wait_engine()
  end
  return false, last
end

------------------------------------------------------------------------------------------
-- bench/rusage around a command: wall, user, sys, max RSS of that one process (wait4's, in µs)

-- What bench/rusage wrote to path: wall, user, sys (seconds), peak RSS (kB), exit status; or nil.
local function read_rusage(path)
  local e, u, s, kb, status = (readfile(path) or ""):match("^([%d.]+) ([%d.]+) ([%d.]+) (%d+) (%d+)%s*$")
  if not e then return nil end
  return tonumber(e), tonumber(u), tonumber(s), tonumber(kb), tonumber(status)
end

local function timed(argv, opts)
  local tf, of, ef = TMP .. "/time", TMP .. "/out", TMP .. "/err"
  os.remove(tf)
  local script = ("timeout -k 5 %d build/bench/rusage %s %s < %s 2> %s | %s > %s; echo ${PIPESTATUS[0]} > %s.rc")
    :format(cfg.timeout, tf, join(argv), q(opts.stdin or "/dev/null"), ef, opts.sink or "cat", of, tf)
  bash(script)
  local rc = tonumber(readfile(tf .. ".rc") or "")
  local e, u, s, m = read_rusage(tf)
  if rc == 124 or rc == 137 then return false, ("timed out after %d s"):format(cfg.timeout) end
  if rc ~= 0 or not e then
    local err = (readfile(ef) or ""):gsub("%s+$", ""):match("[^\n]*$")
    return false, ("exit %s: %s"):format(tostring(rc), err)
  end
  return true, { wall = e, cpu = u + s, rss = m, out = readfile(of) }
end

------------------------------------------------------------------------------------------
-- 1. Output: N bytes out of a container, through a tty attach and a non-tty attach

local function scenario_output(round)
  local n = cfg.out_bytes
  for _, tty in ipairs { true, false } do
    local name = tty and "out_tty" or "out_notty"
    for _, tool in ipairs(rotate(TOOLS, round - 1)) do
      local argv = run_argv(tool, tty and { "-t" } or {}, { "head", "-c", tostring(n), "/dev/zero" })
      local ok, r = attempt(name .. " " .. tool, function()
        local ok, r = timed(argv, { sink = "wc -c" })
        if not ok then return false, r end
        local got = tonumber(r.out)
        if got ~= n then return false, ("%s bytes arrived of %d"):format(tostring(got), n) end
        return true, r
      end)
      if ok then
        record(1, name .. "_wall", tool, round, r.wall, "s")
        record(1, name .. "_cpu", tool, round, r.cpu, "s")
        record(1, name .. "_rss", tool, round, r.rss, "KB")
      else
        for _, m in ipairs { "_wall", "_cpu", "_rss" } do
          record(1, name .. m, tool, round, nil, "")
          note(name .. m, tool, r)
        end
      end
    end
    -- The plain C client on the same libcurl (bench/plain_client.c), on a container made for it.
    local ok, r = attempt(name .. " plain C client", function()
      local id = capture(join(concat({ "docker", "create", "--rm", "--label", LABEL }, tty and { "-t" } or {},
        { IMAGE, "head", "-c", tostring(n), "/dev/zero" })))
      if not id:match("^%x+$") then return false, "docker create printed " .. id end
      local ok, r = timed({ "build/bench/plain_client", "/var/run/docker.sock", id }, { sink = "wc -c" })
      if not ok then return false, r end
      local got = tonumber(r.out) -- without a tty, frame headers come too
      if not got or got < n then return false, ("%s bytes arrived of %d"):format(tostring(got), n) end
      return true, r
    end)
    record(1, name .. "_cpu", "plain", round, ok and r.cpu or nil, "s")
    record(1, name .. "_rss", "plain", round, ok and r.rss or nil, "KB")
    if not ok then note(name .. "_cpu", "plain", r) end
  end
end

------------------------------------------------------------------------------------------
-- 2. Input: N bytes piped into md5sum in a container

local input_file, input_md5
local function scenario_input(round)
  local n = cfg.in_bytes
  if not input_file then
    input_file = TMP .. "/input"
    assert(bash(("head -c %d /dev/urandom > %s"):format(n, input_file)))
    input_md5 = capture("md5sum < " .. input_file):match("^%x+")
  end
  -- `head -c N | md5sum` rather than a bare md5sum: Python dockerpty never half-closes the
  -- attach socket when its stdin ends, so a bare md5sum would wait for ever under it.
  local cmd = { "sh", "-c", ("head -c %d | md5sum"):format(n) }
  for _, tool in ipairs(rotate(TOOLS, round - 1)) do
    local ok, r = attempt("input " .. tool, function()
      local ok, r = timed(run_argv(tool, { "-i" }, cmd), { stdin = input_file })
      if not ok then return false, r end
      local got = (r.out or ""):match("^%x+")
      if got ~= input_md5 then return false, ("md5 %s, expected %s"):format(tostring(got), input_md5) end
      return true, r
    end)
    for _, m in ipairs { "wall", "cpu", "rss" } do
      record(2, "in_" .. m, tool, round, ok and r[m] or nil, m == "rss" and "KB" or "s")
      if not ok then note("in_" .. m, tool, r) end
    end
  end
end

------------------------------------------------------------------------------------------
-- 3. Start-up: run --rm -t busybox echo hi, to the first output byte and to the exit

local function startup_once(tool, round)
  local argv = run_argv(tool, { "-t" }, { "echo", "hi" })
  local ok, r = attempt("startup " .. tool, function()
    local t0 = bench.now()
    local pid, fd = bench.spawn(argv, "/dev/null", TMP .. "/err")
    local first, out = nil, {}
    while true do
      local d = bench.read(fd, cfg.timeout)
      if d == nil then break end
      if d == "" then bench.kill(pid, 9); bench.close(fd); bench.wait(pid); return false, "no output in time" end
      first = first or bench.now()
      out[#out + 1] = d
    end
    bench.close(fd)
    local status = bench.wait(pid)
    local t2 = bench.now()
    out = table.concat(out)
    if status ~= 0 or not out:find("hi", 1, true) then
      return false, ("exit %d, output %q"):format(status, out)
    end
    return true, { first = first - t0, exit = t2 - t0 }
  end)
  record(3, "start_first", tool, round, ok and r.first or nil, "s")
  record(3, "start_exit", tool, round, ok and r.exit or nil, "s")
  if not ok then note("start_first", tool, r); note("start_exit", tool, r) end
end

-- A start-up is mostly the engine's work, which moves a lot from one run to the next: each
-- round takes cfg.start_runs of them per tool, interleaved, and all go into the median.
local function scenario_startup(round)
  for run = 1, cfg.start_runs do
    for _, tool in ipairs(rotate(TOOLS, round + run - 2)) do startup_once(tool, round) end
  end
end

------------------------------------------------------------------------------------------
-- Sessions in a real pseudo-terminal

local ICANON = 2
local function pty_raw(p)
  local l = tonumber(p:settings():match("l=(%d+)"))
  return l and l & ICANON == 0
end

-- Reads from the pty until the output holds `want` `count` times; returns all it read.
local function pty_expect(p, want, count, timeout)
  local got, deadline = {}, bench.now() + timeout
  local s = ""
  while true do
    local _, n = s:gsub(want:gsub("%p", "%%%0"), "")
    if n >= (count or 1) then return s end
    if bench.now() > deadline then return nil, ("waited %gs for %q; got %q"):format(timeout, want, s:sub(-200)) end
    local d = p:read(0.2)
    if d == nil then return nil, ("the session ended; it printed %q"):format(s:sub(-200)) end
    got[#got + 1] = d
    s = table.concat(got)
  end
end

-- Starts argv in a pty and waits until it has the terminal raw and the session answers:
-- "ready\r" typed into `cat` behind a tty comes back twice (the tty's echo, then cat).
local function pty_session(argv)
  local p = testpty.spawn(argv, 24, 80)
  local deadline = bench.now() + 15
  while not pty_raw(p) do
    if p:wait(0) then p:close(); return nil, "the client exited before its session began" end
    if bench.now() > deadline then p:close(); return nil, "the terminal was never made raw" end
    p:read(0.01)
  end
  p:write("ready\r")
  local ok, err = pty_expect(p, "ready", 2, 15)
  if not ok then p:close(); return nil, err end
  while p:read(0.1) ~= "" do end -- let it settle
  return p
end

------------------------------------------------------------------------------------------
-- 4. Keystroke latency: single bytes typed into cat in an exec with a tty, each to its echo

-- Types cfg.keys bytes into argv (an `exec -it C cat`) in a pty; true, {p50=, p99=} in seconds.
local function key_latency(argv)
  local p, err = pty_session(argv)
  if not p then return false, err end
  local lat, line = {}, {}
  for i = 1, cfg.keys do
    local ch = string.char(97 + (i - 1) % 26)
    local t0 = bench.now()
    p:write(ch)
    local got = ""
    while not got:find(ch, 1, true) do
      local d = p:read(5)
      if d == nil or (d == "" and bench.now() - t0 > 5) then p:close(); return false, "no echo for key " .. i end
      got = got .. d
    end
    lat[#lat + 1] = bench.now() - t0
    line[#line + 1] = ch
    if #line == 50 then -- end the line, not timed, so the tty's line buffer stays small
      p:write("\r")
      local okl, e = pty_expect(p, table.concat(line) .. "\r\n", 1, 10)
      if not okl then p:close(); return false, e end
      line = {}
    end
  end
  p:write("\r\4")
  p:wait(5)
  p:close()
  table.sort(lat)
  return true, { p50 = percentile(lat, 50), p99 = percentile(lat, 99) }
end

local function scenario_keys(round)
  for _, tool in ipairs(rotate(TOOLS, round - 1)) do
    local ok, r = attempt("keys " .. tool, function()
      return key_latency(exec_argv(tool, true, helper("keys", { "busybox", "sleep", "86400" }), { "cat" }))
    end)
    record(4, "key_p50", tool, round, ok and r.p50 * 1000 or nil, "ms")
    record(4, "key_p99", tool, round, ok and r.p99 * 1000 or nil, "ms")
    if not ok then note("key_p50", tool, r); note("key_p99", tool, r) end
  end
end

------------------------------------------------------------------------------------------
-- 5. Idle: an attached session where nothing happens; syscalls, CPU and wake-ups

local function tasks(pid)
  local p = io.popen("ls /proc/" .. pid .. "/task 2>/dev/null")
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  return t
end

-- CPU nanoseconds (schedstat) and context switches, summed over the process's threads.
local function usage(pid)
  local cpu, ctx, n = 0, 0, 0
  for _, tid in ipairs(tasks(pid)) do
    local base = "/proc/" .. pid .. "/task/" .. tid
    local ss = readfile(base .. "/schedstat")
    local st = readfile(base .. "/status")
    if ss and st then
      cpu = cpu + (tonumber(ss:match("^(%d+)")) or 0)
      ctx = ctx + tonumber(st:match("voluntary_ctxt_switches:%s*(%d+)")) + tonumber(st:match("nonvoluntary_ctxt_switches:%s*(%d+)"))
      n = n + 1
    end
  end
  return cpu, ctx, n
end

-- strace -c -f over the process for d seconds: total calls, and the busiest syscalls.
local function strace_count(pid, d)
  local f = TMP .. "/strace"
  os.remove(f)
  bash(("timeout -s INT %g strace -c -f -p %d -o %s >/dev/null 2>&1"):format(d, pid, f))
  local s = readfile(f)
  if not s then return nil, "strace wrote nothing" end
  local total, top = 0, {}
  for l in s:gmatch("[^\n]+") do
    local fields = {}
    for w in l:gmatch("%S+") do fields[#fields + 1] = w end
    if fields[#fields] == "total" then total = tonumber(fields[4]) or 0
    elseif tonumber(fields[1]) and #fields >= 5 then top[#top + 1] = { fields[#fields], tonumber(fields[4]) } end
  end
  table.sort(top, function(a, b) return a[2] > b[2] end)
  local names = {}
  for i = 1, math.min(3, #top) do names[i] = top[i][1] .. " " .. top[i][2] end
  return total, table.concat(names, ", ")
end

local idle_top = {}
local function scenario_idle(round)
  for _, tool in ipairs(rotate(TOOLS, round - 1)) do
    local ok, r = attempt("idle " .. tool, function()
      local box = helper("idle", { "-i", "-t", "busybox", "cat" })
      local p, err = pty_session(attach_argv(tool, box))
      if not p then return false, err end
      local pid = p:pid()
      bench.sleep(1)
      local c0, x0 = usage(pid)
      bench.sleep(cfg.idle_s)
      local c1, x1, nthreads = usage(pid)
      local calls, top = strace_count(pid, cfg.idle_s)
      local alive = not p:wait(0)
      if tool ~= "python" then p:write("\16\17") end -- ctrl-p ctrl-q: detach
      p:wait(2)
      p:close()
      if not alive then return false, "the client ended during the idle time" end
      if not calls then return false, top end
      return true, { cpu = (c1 - c0) / 1e6, ctx = x1 - x0, calls = calls, top = top, threads = nthreads }
    end)
    record(5, "idle_cpu", tool, round, ok and r.cpu or nil, "ms")
    record(5, "idle_wakeups", tool, round, ok and r.ctx or nil, "switches")
    record(5, "idle_syscalls", tool, round, ok and r.calls or nil, "calls")
    record(5, "idle_threads", tool, round, ok and r.threads or nil, "threads")
    if ok then idle_top[tool] = r.top
    else for _, k in ipairs { "idle_cpu", "idle_wakeups", "idle_syscalls", "idle_threads" } do note(k, tool, r) end end
  end
end

------------------------------------------------------------------------------------------
-- 6. Scale: N exec sessions pumped at once; every output intact

local function seq_text(m)
  local t = {}
  for i = 1, m do t[i] = tostring(i) end
  return table.concat(t, "\n") .. "\n"
end

local function scenario_scale(round)
  local n, m = cfg.scale_n, cfg.scale_m
  local expected = seq_text(m)
  for _, tool in ipairs(rotate(TOOLS, round - 1)) do
    local ok, r = attempt("scale " .. tool, function()
      local box = helper("scale", { "busybox", "sleep", "86400" })
      if tool == "ours" then
        local ok, r = timed({ "lua5.4", "bench/scale.lua", box, tostring(n), tostring(m) }, {})
        local out = ok and r.out or ""
        local intact = tonumber(out:match("intact=(%d+)"))
        if not intact then return false, ok and ("scale.lua printed " .. out) or r end
        return true, { rss = tonumber(out:match("hwm_kb=(%d+)")), intact = intact, wall = r.wall, cpu = r.cpu }
      end
      -- One process per session, all at once, each under bench/rusage; their peak RSS summed.
      local dir = TMP .. "/scale"
      bash("rm -rf " .. dir .. " && mkdir -p " .. dir)
      local lines = {}
      for i = 1, n do
        lines[#lines + 1] = ("build/bench/rusage %s/%d.t %s > %s/%d.out 2> %s/%d.err &")
          :format(dir, i, join(exec_argv(tool, false, box, { "seq", "1", tostring(m) })), dir, i, dir, i)
      end
      local t0 = bench.now()
      bash(table.concat(lines, "\n") .. "\nwait")
      local wall = bench.now() - t0
      local rss, cpu, intact, broken = 0, 0, 0, nil
      for i = 1, n do
        local _, u, s, kb, status = read_rusage(("%s/%d.t"):format(dir, i))
        rss = rss + (kb or 0)
        cpu = cpu + (u or 0) + (s or 0)
        local out = readfile(("%s/%d.out"):format(dir, i)) or ""
        status = status or "none (it did not end)"
        if out == expected and status == 0 then
          intact = intact + 1
        elseif not broken then
          local got_lines = select(2, out:gsub("\n", ""))
          broken = ("a broken session (round %d) printed %d of %d bytes, %d of %d lines, and exited %s; its last error line: %s")
            :format(round, #out, #expected, got_lines, m, status,
              (((readfile(("%s/%d.err"):format(dir, i)) or ""):gsub("%s+$", ""):match("[^\n]*$") or ""):sub(1, 160):gsub("^$", "(none)")))
        end
      end
      if broken then info("scale_intact", tool, broken) end
      return true, { rss = rss, intact = intact, wall = wall, cpu = cpu }
    end)
    record(6, "scale_rss", tool, round, ok and r.rss or nil, "KB")
    record(6, "scale_intact", tool, round, ok and r.intact or nil, "sessions")
    record(6, "scale_wall", tool, round, ok and r.wall or nil, "s")
    record(6, "scale_cpu", tool, round, ok and r.cpu or nil, "s")
    if not ok then for _, k in ipairs { "scale_rss", "scale_intact", "scale_wall", "scale_cpu" } do note(k, tool, r) end end
    if tool ~= "ours" then
      info("scale_rss", tool, ("%d processes, one per session: the sum of their peak RSS"):format(n))
      info("scale_cpu", tool, ("%d processes: the sum of their CPU"):format(n))
      info("scale_wall", tool, ("%d processes started at once"):format(n))
    end
  end
end

------------------------------------------------------------------------------------------
-- 7. The pump's ceiling without the engine: bench/sink -> our pump -> /dev/null

local function scenario_ceiling(round)
  local n = cfg.sink_bytes
  local sock = TMP .. "/sink.sock"
  local ok, r = attempt("ceiling", function()
    local sink = io.popen(("timeout %d build/bench/sink serve %s %d 2"):format(2 * cfg.timeout, sock, n))
    assert(sink:read("l") == "ready", "the sink did not start")
    local ours = capture(("timeout %d lua5.4 bench/pump_ceiling.lua %s %d"):format(cfg.timeout, sock, n))
    local base = capture(("timeout %d build/bench/sink read %s"):format(cfg.timeout, sock))
    sink:close()
    local _, secs, cpu = ours:match("^(%d+) ([%d.]+) ([%d.]+)")
    local bbytes, bsecs = base:match("^(%d+) ([%d.]+)")
    if not secs then return false, "pump_ceiling.lua printed " .. ours end
    if tonumber(bbytes) ~= n then return false, "the sink's baseline read " .. tostring(bbytes) .. " bytes" end
    return true, { ours = n / tonumber(secs), cpu = tonumber(cpu), base = n / tonumber(bsecs) }
  end)
  record(7, "pump_rate", "ours", round, ok and r.ours / 1e9 or nil, "GB/s")
  record(7, "pump_rate", "read-loop", round, ok and r.base / 1e9 or nil, "GB/s")
  record(7, "pump_cpu", "ours", round, ok and r.cpu or nil, "s")
  if not ok then note("pump_rate", "ours", r) end
end

------------------------------------------------------------------------------------------
-- 8. Pull: an image with a new layer of N random bytes from the local registry

local REGISTRY = "127.0.0.1:5000"
local pull_ref
-- The image lives in the registry under a name of the benchmark's own, one per size, made
-- (classic builder, pushed, local copy removed) only when the registry lacks it.
local function pull_image()
  if pull_ref then return pull_ref end
  local n = cfg.pull_bytes
  local ref = ("%s/dockerpty-bench/pull-%d:latest"):format(REGISTRY, n)
  if not bash(("curl -fsS --max-time 5 -o /dev/null http://%s/v2/"):format(REGISTRY)) then
    error("the registry at " .. REGISTRY .. " does not answer (scripts/registry starts it)")
  end
  local has = ("curl -fsS --max-time 10 -o /dev/null -I -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "
    .. "http://%s/v2/dockerpty-bench/pull-%d/manifests/latest 2>/dev/null"):format(REGISTRY, n)
  if not bash(has) then
    log("pull: building and pushing %s", ref)
    local ctx, tag = TMP .. "/pullctx", "dockerpty-bench-pull-" .. RUN_ID .. ":build"
    assert(bash(("mkdir -p %s && printf 'FROM %s\\nRUN head -c %d /dev/urandom > /blob\\n' > %s/Dockerfile")
      :format(ctx, IMAGE, n, ctx)))
    local ok = bash(("DOCKER_BUILDKIT=0 docker build -q --label %s -t %s %s >/dev/null 2>&1 && docker tag %s %s && docker push -q %s >/dev/null")
      :format(q(LABEL), tag, ctx, tag, ref, ref))
    bash(("docker rmi %s %s >/dev/null 2>&1"):format(tag, ref))
    if not ok then error("could not build and push " .. ref) end
  end
  pull_ref = ref
  return ref
end

local function scenario_pull(round)
  local ok0, ref = pcall(pull_image)
  for _, tool in ipairs(rotate({ "ours", "docker" }, round - 1)) do
    local ok, r = ok0, ref
    if ok0 then
      ok, r = attempt("pull " .. tool, function()
        -- both tools download every byte: the image and its new layer are gone first
        bash("docker rmi -f " .. ref .. " >/dev/null 2>&1")
        if capture("docker image inspect -f . " .. ref) ~= "" then return false, "cannot remove " .. ref end
        local done, t = timed(concat(BASE[tool], { "pull", ref }), {})
        local size = tonumber(capture("docker image inspect -f '{{.Size}}' " .. ref))
        bash("docker rmi -f " .. ref .. " >/dev/null 2>&1")
        if not done then return false, t end
        if not size or size < cfg.pull_bytes then return false, ("the image pulled holds %s bytes"):format(tostring(size)) end
        return true, t
      end)
    end
    for _, m in ipairs { "wall", "cpu", "rss" } do
      record(8, "pull_" .. m, tool, round, ok and r[m] or nil, m == "rss" and "KB" or "s")
      if not ok then note("pull_" .. m, tool, r) end
    end
  end
end

------------------------------------------------------------------------------------------
-- 9. Build: a context of a few large and many small files, COPY'd by the classic builder

local ctx_dir, ctx_sum
-- FROM busybox, COPY of the whole context; the files' md5 list, summed, to check the image.
local function build_context()
  if ctx_dir then return ctx_dir end
  local d = TMP .. "/buildctx"
  local script = {
    ("rm -rf %s && mkdir -p %s/big %s/small && cd %s"):format(d, d, d, d),
    ("printf 'FROM %s\\nCOPY . /ctx\\n' > Dockerfile"):format(IMAGE),
    ("for i in $(seq %d); do head -c %d /dev/urandom > big/$i.bin; done"):format(cfg.ctx_big, cfg.ctx_big_bytes),
    -- many small files, spread over 100 directories
    ("for j in $(seq 0 99); do mkdir small/d$j; head -c %d /dev/urandom | (cd small/d$j && split -a 3 -b %d - f); done")
      :format(cfg.ctx_small // 100 * cfg.ctx_small_bytes, cfg.ctx_small_bytes),
  }
  assert(bash(table.concat(script, "\n")), "cannot make the build context")
  ctx_sum = capture(("cd %s && find big small -type f | sort | xargs md5sum | md5sum"):format(d)):match("^%x+")
  ctx_dir = d
  return d
end

local function scenario_build(round)
  local ok0, dir = pcall(build_context)
  for _, tool in ipairs(rotate({ "ours", "docker" }, round - 1)) do
    local ok, r = ok0, dir
    if ok0 then
      local tag = ("dockerpty-bench-build-%s:%s"):format(RUN_ID, tool)
      ok, r = attempt("build " .. tool, function()
        -- --no-cache: every round copies the whole context again
        local argv = concat(tool == "docker" and { "env", "DOCKER_BUILDKIT=0" } or {}, BASE[tool],
          { "build", "-q", "--no-cache", "--label", LABEL, "-t", tag, dir })
        local done, t = timed(argv, {})
        local sum = done and capture(("docker run --rm --label %s %s sh -c 'cd /ctx && find big small -type f | sort | xargs md5sum | md5sum'")
          :format(q(LABEL), tag)):match("^%x+")
        bash("docker rmi -f " .. tag .. " >/dev/null 2>&1")
        if not done then return false, t end
        if sum ~= ctx_sum then return false, ("the image's files sum to %s, the context's to %s"):format(tostring(sum), ctx_sum) end
        return true, t
      end)
    end
    for _, m in ipairs { "wall", "cpu", "rss" } do
      record(9, "build_" .. m, tool, round, ok and r[m] or nil, m == "rss" and "KB" or "s")
      if not ok then note("build_" .. m, tool, r) end
    end
  end
end

------------------------------------------------------------------------------------------
-- 10. Gateway: sessions through a WebSocket gateway, against one `docker exec -it` process
-- per connection (ttyd's, gotty's and the remote-shell post's design) and a local exec

local GW_TOKEN = "bench-gateway-token-" .. RUN_ID
-- The gateway measured: `dockerpty serve` as bench/run installs it, with the token it makes
-- (printed in the address's fragment); the peer takes ours.
local GATEWAY = concat(BASE.ours, { "serve", "--listen", "127.0.0.1:0", "--max-sessions", "5000" })
local PPC = { "node", "bench/ppc_server.js", GW_TOKEN }
local CLK_TCK = tonumber(capture("getconf CLK_TCK")) or 100

-- Starts a server that prints "listening URL" (or, as dockerpty serve, its address with the
-- token in the fragment); returns {pid=, fd= (its stdout), url=, token=}.
local function start_server(argv, name)
  local pid, fd = bench.spawn(argv, "/dev/null", TMP .. "/" .. name .. ".err")
  local got, deadline = "", bench.now() + 20
  local function ready()
    local port, token = got:match("^http://127%.0%.0%.1:(%d+)/#token=(%S+)\n")
    if port then return "ws://127.0.0.1:" .. port, token end
    return got:match("listening (%S+)\n"), GW_TOKEN
  end
  while not ready() do
    local d = bench.read(fd, 1)
    if d == nil or bench.now() > deadline then
      bench.kill(pid, 9); bench.wait(pid); bench.close(fd)
      error(("%s did not start: %s"):format(name, (readfile(TMP .. "/" .. name .. ".err") or ""):sub(1, 300)))
    end
    got = got .. d
  end
  local url, token = ready()
  return { pid = pid, fd = fd, url = url, token = token }
end

local function stop_server(srv)
  if not srv then return end
  bench.kill(srv.pid, 15)
  bench.wait(srv.pid)
  bench.close(srv.fd)
end

-- CPU seconds of a process: its own, and its reaped children's.
local function proc_cpu(pid)
  local st = readfile("/proc/" .. pid .. "/stat") or ""
  local f = {}
  for x in (st:match("%) (.*)$") or ""):gmatch("%S+") do f[#f + 1] = tonumber(x) or 0 end
  if #f < 15 then return nil end
  return (f[12] + f[13]) / CLK_TCK, (f[14] + f[15]) / CLK_TCK
end

-- pid and every process under it
local function family(pid)
  local kids = {}
  for l in capture("ps -e -o pid=,ppid="):gmatch("[^\n]+") do
    local c, pp = l:match("(%d+)%s+(%d+)")
    if c then kids[pp] = kids[pp] or {}; table.insert(kids[pp], c) end
  end
  local all, i = { tostring(pid) }, 1
  while all[i] do
    for _, c in ipairs(kids[all[i]] or {}) do all[#all + 1] = c end
    i = i + 1
  end
  return all
end

-- RSS, PSS and USS (Private_Clean + Private_Dirty) in kB, summed over pids (smaps_rollup)
local function proc_mem(pids)
  local rss, pss, uss = 0, 0, 0
  for _, pid in ipairs(pids) do
    local s = readfile("/proc/" .. pid .. "/smaps_rollup") or ""
    rss = rss + (tonumber(s:match("\nRss:%s*(%d+)")) or 0)
    pss = pss + (tonumber(s:match("\nPss:%s*(%d+)")) or 0)
    uss = uss + (tonumber(s:match("\nPrivate_Clean:%s*(%d+)")) or 0) + (tonumber(s:match("\nPrivate_Dirty:%s*(%d+)")) or 0)
  end
  return rss, pss, uss
end

local function gw_client(...)
  return { "node", "bench/gw_client.js", ... }
end

local GW_TOOLS = { "ours", "ppc", "local" }

local function gw_keys(round, srv, box)
  for _, tool in ipairs(rotate(GW_TOOLS, round - 1)) do
    local ok, r = attempt("gateway keys " .. tool, function()
      if tool == "local" then return key_latency(exec_argv("ours", true, box, { "cat" })) end
      local ok, t = timed(gw_client("keys", srv[tool].url, srv[tool].token, box, tostring(cfg.keys)), {})
      if not ok then return false, t end
      local p50, p99 = t.out:match("^([%d.]+) ([%d.]+)")
      if not p50 then return false, "gw_client printed " .. t.out end
      return true, { p50 = tonumber(p50) / 1000, p99 = tonumber(p99) / 1000 }
    end)
    record(10, "gw_key_p50", tool, round, ok and r.p50 * 1000 or nil, "ms")
    record(10, "gw_key_p99", tool, round, ok and r.p99 * 1000 or nil, "ms")
    if not ok then note("gw_key_p50", tool, r); note("gw_key_p99", tool, r) end
  end
end

local function gw_out(round, srv, box)
  local n = cfg.out_bytes
  for _, tool in ipairs(rotate(GW_TOOLS, round - 1)) do
    local ok, r = attempt("gateway out " .. tool, function()
      if tool == "local" then
        local ok, t = timed(concat(BASE.ours, { "exec", "-t", box, "head", "-c", tostring(n), "/dev/zero" }), { sink = "wc -c" })
        if not ok then return false, t end
        if tonumber(t.out) ~= n then return false, ("%s bytes arrived of %d"):format(t.out, n) end
        return true, { wall = t.wall, cpu = t.cpu }
      end
      local pid = srv[tool].pid
      local own0, kids0 = proc_cpu(pid)
      local ok, t = timed(gw_client("out", srv[tool].url, srv[tool].token, box, tostring(n)), {})
      if not ok then return false, t end
      bench.sleep(0.5) -- the session's processes reaped, their CPU in the server's children's
      local own1, kids1 = proc_cpu(pid)
      local bytes, secs = t.out:match("^(%d+) ([%d.]+)")
      if tonumber(bytes) ~= n then return false, "gw_client printed " .. t.out end
      -- ours: the gateway process; the other: the exec's processes (script and docker exec),
      -- with the Node server that spawns them apart
      if tool == "ours" then return true, { wall = tonumber(secs), cpu = own1 - own0 + kids1 - kids0 } end
      return true, { wall = tonumber(secs), cpu = kids1 - kids0, server = own1 - own0 }
    end)
    record(10, "gw_out_wall", tool, round, ok and r.wall or nil, "s")
    record(10, "gw_out_cpu", tool, round, ok and r.cpu or nil, "s")
    if tool == "ppc" then record(10, "gw_out_server_cpu", tool, round, ok and r.server or nil, "s") end
    if not ok then note("gw_out_wall", tool, r); note("gw_out_cpu", tool, r) end
  end
  info("gw_out_cpu", "local", "the client's CPU (`dockerpty exec -t`), under bench/rusage")
  info("gw_out_cpu", "ppc", "the session's `script` and `docker exec -it` processes; the Node server that spawns them and frames their output is apart")
end

-- N sessions of cat held open at once, each answered before it counts: the server's memory
-- before and with them, and how fast they opened.
local function gw_idle(round, srv)
  for _, tool in ipairs(rotate({ "ours", "ppc" }, round - 1)) do
    local n = tool == "ours" and cfg.gw_sessions or cfg.ppc_sessions
    local ok, r = attempt("gateway idle " .. tool, function()
      local box = helper("gw_idle_" .. tool .. round, { "busybox", "sleep", "86400" })
      local pid = srv[tool].pid
      -- the earlier sessions' processes gone first: one left would share its pages with the new ones
      local settle = bench.now() + 10
      while #family(pid) > 1 and bench.now() < settle do bench.sleep(0.2) end
      local before = { proc_mem(family(pid)) }
      local fifo = TMP .. "/gw_idle.fifo"
      os.remove(fifo)
      assert(bash("mkfifo " .. fifo))
      local cpid, cfd = bench.spawn(gw_client("idle", srv[tool].url, srv[tool].token, box, tostring(n)), fifo, TMP .. "/gw_idle.err")
      local hold = assert(io.open(fifo, "w"))
      local out, deadline = "", bench.now() + cfg.timeout * 2
      while not out:match("open %d+ [%d.]+\n") do
        local d = bench.read(cfd, 5)
        if d == nil or bench.now() > deadline then break end
        out = out .. d
      end
      local opened, secs = out:match("open (%d+) ([%d.]+)")
      local with
      if opened then bench.sleep(2); with = { proc_mem(family(pid)) } end
      hold:close()
      local left = bench.now() + 30
      while bench.now() < left and bench.read(cfd, 1) ~= nil do end
      bench.close(cfd)
      bench.kill(cpid, 9)
      bench.wait(cpid)
      bash("docker rm -f " .. box .. " >/dev/null 2>&1")
      helpers["gw_idle_" .. tool .. round] = nil
      if not opened then
        return false, ("the sessions did not all open: %s"):format(((readfile(TMP .. "/gw_idle.err") or ""):gsub("%s+$", "")):sub(-200))
      end
      return true, { rss = with[1], uss = with[3], per_rss = (with[1] - before[1]) / n, per_uss = (with[3] - before[3]) / n,
        rate = n / tonumber(secs), n = n }
    end)
    record(10, "gw_idle_rss", tool, round, ok and r.rss or nil, "KB")
    record(10, "gw_idle_uss", tool, round, ok and r.uss or nil, "KB")
    record(10, "gw_idle_per_rss", tool, round, ok and r.per_rss or nil, "KB")
    record(10, "gw_idle_per_uss", tool, round, ok and r.per_uss or nil, "KB")
    record(10, "gw_open_rate", tool, round, ok and r.rate or nil, "sessions/s")
    record(10, "gw_idle_n", tool, round, ok and r.n or nil, "sessions")
    if not ok then for _, k in ipairs { "gw_idle_rss", "gw_idle_uss", "gw_idle_per_rss", "gw_idle_per_uss", "gw_open_rate" } do note(k, tool, r) end end
  end
end

-- The gateway's ceiling: bench/gateway_ceiling.lua bridges one WebSocket session to bench/sink
-- in place of an engine stream; bench/ws_count reads the frames.
local function gw_ceiling(round)
  local n = cfg.gw_sink_bytes
  local ok, r = attempt("gateway ceiling", function()
    local sock = TMP .. "/gw_sink.sock"
    os.remove(sock)
    local spid, sfd = bench.spawn({ "build/bench/sink", "serve", sock, tostring(n), "1" }, "/dev/null", TMP .. "/gw_sink.err")
    local ready = bench.read(sfd, 10)
    if not (ready or ""):match("^ready") then bench.kill(spid, 9); bench.wait(spid); bench.close(sfd); return false, "the sink did not start" end
    local okg, g = pcall(start_server, { "lua5.4", "bench/gateway_ceiling.lua", sock, GW_TOKEN }, "gw_ceiling")
    if not okg then bench.kill(spid, 9); bench.wait(spid); bench.close(sfd); return false, g end
    local out = capture(("timeout %d build/bench/ws_count %s %s /api/exec/x?cmd=x"):format(cfg.timeout, g.url:match("(%d+)$"), GW_TOKEN))
    local cpu = ""
    local deadline = bench.now() + 10
    while not cpu:match("\n") and bench.now() < deadline do cpu = cpu .. (bench.read(g.fd, 1) or "") end
    stop_server(g)
    bench.kill(spid, 9) -- gone already when the session ran
    bench.wait(spid)
    bench.close(sfd)
    local bytes, secs = out:match("^(%d+) ([%d.]+)")
    if tonumber(bytes) ~= n then return false, "ws_count printed " .. out .. " (bytes, seconds, close code)" end
    return true, { rate = n / tonumber(secs), cpu = tonumber(cpu:match("[%d.]+")) }
  end)
  record(10, "gw_ceiling_rate", "ours", round, ok and r.rate / 1e9 or nil, "GB/s")
  record(10, "gw_ceiling_cpu", "ours", round, ok and r.cpu or nil, "s")
  if not ok then note("gw_ceiling_rate", "ours", r) end
end

local function scenario_gateway(round)
  if not bash("command -v node >/dev/null && test -d node_modules/ws") then
    for _, k in ipairs { "gw_key_p99", "gw_out_wall", "gw_idle_rss", "gw_ceiling_rate" } do
      record(10, k, "ours", round, nil, ""); note(k, "ours", "Node or node_modules/ws is missing (scripts/deps test)")
    end
    return
  end
  local srv = {}
  local ok, err = pcall(function()
    if gw_wanted("keys") or gw_wanted("out") or gw_wanted("idle") then
      srv.ours = start_server(GATEWAY, "gateway")
      srv.ppc = start_server(PPC, "ppc")
    end
    local box = (gw_wanted("keys") or gw_wanted("out")) and helper("gw", { "busybox", "sleep", "86400" })
    if gw_wanted("keys") then log("round %d/%d: gateway: echo", round, cfg.rounds); gw_keys(round, srv, box) end
    if gw_wanted("out") then log("round %d/%d: gateway: output", round, cfg.rounds); gw_out(round, srv, box) end
    if gw_wanted("idle") then log("round %d/%d: gateway: idle sessions", round, cfg.rounds); gw_idle(round, srv) end
    if gw_wanted("ceiling") then log("round %d/%d: gateway: ceiling", round, cfg.rounds); gw_ceiling(round) end
  end)
  stop_server(srv.ours)
  stop_server(srv.ppc)
  if not ok then error(err, 0) end
end

------------------------------------------------------------------------------------------
-- Run

local SCENARIOS = {
  { "output", scenario_output }, { "input", scenario_input }, { "startup", scenario_startup },
  { "keys", scenario_keys }, { "idle", scenario_idle }, { "scale", scenario_scale },
  { "ceiling", scenario_ceiling }, { "pull", scenario_pull }, { "build", scenario_build },
  { "gateway", scenario_gateway },
}
local SCENARIO_NO = { output = 1, input = 2, startup = 3, keys = 4, idle = 5, scale = 6, ceiling = 7, pull = 8, build = 9, gateway = 10 }

local function meminfo()
  local kb = tonumber((readfile("/proc/meminfo") or ""):match("MemTotal:%s*(%d+)"))
  return kb and ("%.1f GiB"):format(kb / 1024 / 1024) or "?"
end

local function loadavg() return (readfile("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)") or "?" end

local ok, err
if args.report then
  -- Rebuild the report from a results.tsv: its header lines hold the settings and the
  -- machine, its rows every measurement.
  local f = assert(io.open(args.report))
  for l in f:lines() do
    local fields = {}
    for x in (l .. "\t"):gmatch("([^\t]*)\t") do fields[#fields + 1] = x end
    if fields[1] == "# meta" then meta[fields[2]] = fields[3]
    elseif fields[1] == "# info" then info(fields[2], fields[3], fields[4])
    elseif fields[1] == "# idle_top" then idle_top[fields[2]] = fields[3]
    elseif tonumber(fields[1]) then
      record(tonumber(fields[1]), fields[2], fields[3], tonumber(fields[4]), tonumber(fields[5]), fields[6])
      if fields[7] and fields[7] ~= "" then note(fields[2], fields[3], fields[7]) end
    end
  end
  f:close()
  for k in pairs(cfg) do if meta["cfg." .. k] then cfg[k] = tonumber(meta["cfg." .. k]) or meta["cfg." .. k] end end
  args.smoke = cfg.mode == "smoke"
  ok, err = meta.stopped == nil, meta.stopped
else
  meta.date = os.date("!%Y-%m-%d %H:%M:%S UTC")
  meta.load_before = loadavg()
  local t_start = bench.now()
  bash("mkdir -p " .. TMP)
  wait_engine()
  ok, err = pcall(function()
    for round = 1, cfg.rounds do
      for _, sc in ipairs(SCENARIOS) do
        if wanted(sc[1]) or (sc[1] == "gateway" and only.gateway_part) then
          log("round %d/%d: %s", round, cfg.rounds, sc[1])
          if sc[1] ~= "ceiling" then wait_engine() end
          sc[2](round)
        end
      end
    end
  end)
  cleanup()
  bash("rm -rf " .. TMP)
  if not ok then log("stopped: %s", tostring(err)); meta.stopped = tostring(err):gsub("[\t\n]", " ") end
  meta.elapsed = ("%.0f"):format(bench.now() - t_start)
  meta.load_after = loadavg()
  meta.machine = ("%s CPUs (`nproc`), %s, %s; kernel %s"):format(capture("nproc"), meminfo(),
    (readfile("/proc/cpuinfo") or ""):match("model name%s*:%s*([^\n]+)") or "?", capture("uname -r"))
  meta.engine = "Docker Engine " .. capture("docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}}, {{.Server.Os}}/{{.Server.Arch}})'")
  meta.ours = ("dockerpty %s%s: `lua5.4 build/bench/prefix/bin/dockerpty`, from `make install` (%s)"):format(capture("git rev-parse --short HEAD"),
    capture("git status --porcelain -- src lua bin Makefile scripts") ~= "" and " + uncommitted changes" or "", capture("lua5.4 -v"))
  meta.docker = ("docker CLI %s (`%s`)"):format(capture("docker version --format '{{.Client.Version}}'"), capture("command -v docker"))
  meta.python = ("python3-dockerpty %s, python3-docker %s, %s: `bench/py_dockerpty.py`"):format(
    capture("dpkg-query -W -f '${Version}' python3-dockerpty"), capture("dpkg-query -W -f '${Version}' python3-docker"),
    capture("/usr/bin/python3 -V"))
  -- A run of some scenarios (--only) keeps the others' rows from the results.tsv it replaces,
  -- each scenario marked with the run it came from.
  local prev = args.only and io.open(OUT .. "/results.tsv")
  local pmode = prev and (prev:read("a"):match("# meta\tcfg%.mode\t(%w+)"))
  if prev then prev:seek("set") end
  if prev and pmode ~= cfg.mode then
    log("not keeping %s/results.tsv's other scenarios: it is of a %s run, this one %s", OUT, tostring(pmode), cfg.mode)
    prev:close()
    prev = nil
  end
  if prev then
    local ran, pmeta, prows, pinfo, ptop = {}, {}, {}, {}, {}
    for _, sc in ipairs(SCENARIOS) do
      if wanted(sc[1]) or (sc[1] == "gateway" and only.gateway_part) then ran[SCENARIO_NO[sc[1]]] = true end
    end
    for l in prev:lines() do
      local fields = {}
      for x in (l .. "\t"):gmatch("([^\t]*)\t") do fields[#fields + 1] = x end
      if fields[1] == "# meta" then pmeta[fields[2]] = fields[3]
      elseif fields[1] == "# info" then pinfo[#pinfo + 1] = fields
      elseif fields[1] == "# idle_top" then ptop[fields[2]] = fields[3]
      elseif tonumber(fields[1]) and (not ran[tonumber(fields[1])] or (fields[1] == "10" and not gw_wanted(GW_PART[fields[2]:match("^gw_(%a+)")] or ""))) then
        prows[#prows + 1] = fields
      end
    end
    prev:close()
    local kept = {}
    for _, f in ipairs(prows) do
      local n = tonumber(f[1])
      record(n, f[2], f[3], tonumber(f[4]), tonumber(f[5]), f[6])
      if f[7] and f[7] ~= "" then note(f[2], f[3], f[7]) end
      kept[f[2]] = true
      local tag = n == 10 and ran[10] and ("10." .. GW_PART[f[2]:match("^gw_(%a+)")]) or tostring(n)
      meta["rounds." .. tag] = pmeta["rounds." .. tag] or pmeta["cfg.rounds"]
      meta["from." .. tag] = pmeta["from." .. tag] or ("the run of %s (%s mode, %s rounds, dockerpty %s)")
        :format(pmeta.date or "?", pmeta["cfg.mode"] or "?", pmeta["cfg.rounds"] or "?", (pmeta.ours or "?"):match("^dockerpty (%x+)") or "?")
    end
    for _, f in ipairs(pinfo) do if kept[f[2]] and not (infos[f[2]] and infos[f[2]][f[3]]) then info(f[2], f[3], f[4]) end end
    if not ran[5] then for tool, text in pairs(ptop) do idle_top[tool] = text end end
  end
  meta.command = "bench/run" .. (#arg > 0 and " " .. table.concat(arg, " ") or "")
  if results.gw_key_p99 or results.gw_out_wall or results.gw_idle_rss then
    meta.gateway = join(GATEWAY):gsub("^lua5%.4 build/bench/prefix/bin/", "")
  end
  for k, v in pairs(cfg) do meta["cfg." .. k] = tostring(v) end

  local t = {}
  local keys = {}
  for k in pairs(meta) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do t[#t + 1] = ("# meta\t%s\t%s"):format(k, meta[k]) end
  for key, by in pairs(infos) do for tool, text in pairs(by) do t[#t + 1] = ("# info\t%s\t%s\t%s"):format(key, tool, text) end end
  for tool, text in pairs(idle_top) do t[#t + 1] = ("# idle_top\t%s\t%s"):format(tool, text) end
  t[#t + 1] = "scenario\tmetric\ttool\tround\tvalue\tunit\tnote"
  for _, e in ipairs(entries) do
    t[#t + 1] = table.concat({ e[1], e[2], e[3], e[4], e[5] and ("%.6g"):format(e[5]) or "NA", e[6], e[7] or "" }, "\t")
  end
  writefile(OUT .. "/results.tsv", table.concat(t, "\n") .. "\n")
end

------------------------------------------------------------------------------------------
-- Report

local function kb_mb(kb) return kb and ("%.1f MB"):format(kb / 1024) end
local FMT = {
  s = function(v) return v and (v < 1 and ("%.0f ms"):format(v * 1000) or ("%.2f s"):format(v)) end,
  ms = function(v) return v and ("%.2f ms"):format(v) end,
  KB = kb_mb,
  n = function(v) return v and ("%g"):format(v) end,
  cpu_ms = function(v) return v and ("%.1f ms"):format(v) end,
  gbs = function(v) return v and ("%.2f GB/s"):format(v) end,
  kib = function(v) return v and ("%.1f KiB"):format(v * 1024 / 1024) end,
  rate = function(v) return v and ("%.1f"):format(v) end,
}

local out_mb = cfg.out_bytes / MB
local ROWS = {
  { 1, "Output", ("%d MB out: `run --rm [-t] busybox head -c %d /dev/zero`, piped to `wc -c` (count checked); client process under `bench/rusage` (wait4, in µs)")
      :format(out_mb, cfg.out_bytes), {
    { "out_tty_wall", "tty: wall", FMT.s }, { "out_tty_cpu", "tty: client CPU (user+sys)", FMT.s },
    { "out_tty_rss", "tty: client peak RSS", FMT.KB },
    { "out_notty_wall", "no tty: wall", FMT.s }, { "out_notty_cpu", "no tty: client CPU (user+sys)", FMT.s },
    { "out_notty_rss", "no tty: client peak RSS", FMT.KB } } },
  { 2, "Input", ("%d MB from a file: `run --rm -i busybox sh -c 'head -c %d | md5sum'` (md5 checked)")
      :format(cfg.in_bytes / MB, cfg.in_bytes), {
    { "in_wall", "wall", FMT.s }, { "in_cpu", "client CPU (user+sys)", FMT.s }, { "in_rss", "client peak RSS", FMT.KB } } },
  { 3, "Start-up", ("`run --rm -t busybox echo hi`, stdout a pipe: from fork to the first output byte, and to the exit; %d runs per tool in each round, interleaved")
      :format(cfg.start_runs), {
    { "start_first", "to first byte", FMT.s }, { "start_exit", "to exit", FMT.s } } },
  { 4, "Keystroke latency", ("%d single bytes typed into `cat` in `exec -it` (a real pty on our side), each timed to its echo")
      :format(cfg.keys), {
    { "key_p50", "p50", FMT.ms }, { "key_p99", "p99", FMT.ms } } },
  { 5, "Idle", ("`attach` to a container running `cat` with a tty, in a pty, nothing typed: %g s measured from /proc (CPU from schedstat, wake-ups = context switches, all threads), then %g s under `strace -c -f`")
      :format(cfg.idle_s, cfg.idle_s), {
    { "idle_cpu", "CPU", FMT.cpu_ms }, { "idle_wakeups", "context switches (wake-ups)", FMT.n },
    { "idle_syscalls", "system calls", FMT.n }, { "idle_threads", "threads", FMT.n } } },
  { 6, "Scale", ("%d exec sessions of `seq 1 %d` (no tty) at once; outputs compared byte for byte. Ours: one process (`dockerpty.open` + `together`), its VmHWM; docker and python: %d processes at once, their peak RSS summed")
      :format(cfg.scale_n, cfg.scale_m, cfg.scale_n), {
    { "scale_rss", "peak RSS (total)", FMT.KB }, { "scale_intact", "sessions intact", FMT.n },
    { "scale_wall", "wall", FMT.s }, { "scale_cpu", "client CPU (total)", FMT.s } } },
  { 8, "Pull", ("`pull 127.0.0.1:5000/dockerpty-bench/pull-%d` (busybox and a new layer of %d random bytes, built by the classic builder) from the local registry, the image removed before each pull so that each tool downloads it; the image's size checked. Python dockerpty has no pull: n/a")
      :format(cfg.pull_bytes, cfg.pull_bytes), {
    { "pull_wall", "wall", FMT.s }, { "pull_cpu", "client CPU (user+sys)", FMT.s }, { "pull_rss", "client peak RSS", FMT.KB } } },
  { 9, "Build", ("`build -q --no-cache -t T CONTEXT` with the classic builder (docker: `DOCKER_BUILDKIT=0`) of `FROM busybox` + `COPY . /ctx`; the context %.0f MB: %d files of %.0f MB and %d of %d bytes in 100 directories; the image's files checked against the context's md5s. Python dockerpty has no build: n/a")
      :format((cfg.ctx_big * cfg.ctx_big_bytes + cfg.ctx_small * cfg.ctx_small_bytes) / 1e6, cfg.ctx_big, cfg.ctx_big_bytes / 1e6,
        cfg.ctx_small, cfg.ctx_small_bytes), {
    { "build_wall", "wall", FMT.s }, { "build_cpu", "client CPU (user+sys)", FMT.s }, { "build_rss", "client peak RSS", FMT.KB } } },
}

local function ratio(a, b)
  if not a or not b then return "n/a" end
  if b == 0 then return a == 0 and "1.00" or "∞" end
  return ("%.2f"):format(a / b)
end

local function cell(key, tool, fmt)
  local v = med(key, tool)
  local f = fails[key] and fails[key][tool]
  if v then
    local mark = (infos[key] and infos[key][tool]) and "¹" or ""
    if f then mark = mark .. (" (%d round%s failed)"):format(#f, #f == 1 and "" or "s") end
    return fmt(v) .. mark
  end
  if not results[key] then return "not run" end
  return "n/a" .. (f and (" (" .. f[#f]:gsub("|", "/"):gsub("\n", " ") .. ")") or "")
end

local md = {}
local function w(fmt, ...) md[#md + 1] = select("#", ...) > 0 and fmt:format(...) or fmt end
-- the run a scenario's rows were kept from, when not this one
local function from(n)
  if meta["from." .. n] then w("*Kept from %s: this run did not include it.*", meta["from." .. n]); w("") end
  for _, part in ipairs(n == 10 and GW_PARTS or {}) do
    if meta["from.10." .. part] then w("*The %s rows are kept from %s: this run did not include them.*", part, meta["from.10." .. part]); w("") end
  end
end

w("# dockerpty benchmark results")
w("")
w("Made by `%s` (%s mode: %d round%s, tools in rotating order within each round, medians of the rounds).",
  meta.command or "bench/run", cfg.mode, cfg.rounds, cfg.rounds == 1 and "" or "s")
if args.smoke then w("**Smoke run: small sizes, one round — a check that every scenario works, not a measurement.**") end
w("")
w("| | |")
w("|---|---|")
w("| date | %s (took %s s) |", meta.date or "?", meta.elapsed or "?")
w("| machine | %s |", meta.machine or "?")
w("| load average | %s before, %s after (1, 5, 15 min; the engine and this machine may be shared, and the scale scenario itself starts 2 × %d client processes) |",
  meta.load_before or "?", meta.load_after or "?", cfg.scale_n)
w("| engine | %s |", meta.engine or "?")
w("| ours | %s |", meta.ours or "?")
w("| docker | %s |", meta.docker or "?")
w("| python | %s |", meta.python or "?")
w("")
w("Ratios are ours/docker and ours/python: below 1 means ours uses less (or is faster).")
w("")

local section7_done
local function section7()
  if results.pump_rate and not section7_done then
    section7_done = true
    w("## 7. The pump's ceiling without the engine")
    w("")
    from(7)
    w(("`bench/sink` answers an attach with `101 UPGRADED` on a unix socket and writes %d MiB of raw-stream bytes; "
      .. "ours is `client:attach_socket` + `core.pump(stream, {stdout = /dev/null, tty = true})`, timed from the pump's start "
      .. "to `\"end\"`. The baseline is the same sink read by a plain `read()` loop (64 KiB buffer) in C. "
      .. "The docker CLI and Python dockerpty have no way to be pointed at a bare stream: n/a."):format(cfg.sink_bytes // MB))
    w("")
    w("| metric | ours | plain read() loop | ours/read-loop |")
    w("|---|---|---|---|")
    w("| bytes per second (10^9 B/s) | %s | %s | %s |", cell("pump_rate", "ours", FMT.gbs), cell("pump_rate", "read-loop", FMT.gbs),
      ratio(med("pump_rate", "ours"), med("pump_rate", "read-loop")))
    w("| client CPU for %d MiB | %s | | |", cfg.sink_bytes // MB, cell("pump_cpu", "ours", FMT.s))
    w("")
  end
end

for _, sc in ipairs(ROWS) do
  if sc[1] > 7 then section7() end
  local any = false
  for _, r in ipairs(sc[4]) do if results[r[1]] then any = true end end
  if any then
    w("## %d. %s", sc[1], sc[2])
    w("")
    from(sc[1])
    w(sc[3] .. ".")
    w("")
    w("| metric | ours | docker | python | ours/docker | ours/python |")
    w("|---|---|---|---|---|---|")
    for _, r in ipairs(sc[4]) do
      local key, label, fmt = r[1], r[2], r[3]
      if results[key] then
        w("| %s | %s | %s | %s | %s | %s |", label, cell(key, "ours", fmt), cell(key, "docker", fmt), cell(key, "python", fmt),
          ratio(med(key, "ours"), med(key, "docker")), ratio(med(key, "ours"), med(key, "python")))
      end
    end
    local footnotes = {}
    for _, r in ipairs(sc[4]) do
      for _, tool in ipairs(TOOLS) do
        local n = infos[r[1]] and infos[r[1]][tool]
        if n and not footnotes[tool .. n] then
          footnotes[tool .. n] = true
          footnotes[#footnotes + 1] = ("¹ %s, %s: %s."):format(tool, r[2], n)
        end
        local f = fails[r[1]] and fails[r[1]][tool]
        if f and med(r[1], tool) and not footnotes[tool .. f[1]] then
          footnotes[tool .. f[1]] = true
          footnotes[#footnotes + 1] = ("%s, a failed round: %s."):format(tool, f[1])
        end
      end
    end
    if #footnotes > 0 then w(""); for _, f in ipairs(footnotes) do w(f .. "  ") end end
    if sc[1] == 5 and next(idle_top) then
      w("")
      local t = {}
      for _, tool in ipairs(TOOLS) do if idle_top[tool] then t[#t + 1] = ("%s: %s"):format(tool, idle_top[tool] ~= "" and idle_top[tool] or "none") end end
      w("Busiest system calls in the last round: %s.", table.concat(t, "; "))
    end
    if sc[1] == 1 and results.out_tty_cpu and results.out_tty_cpu.plain then
      w("")
      w("The same output read by a plain C client on the same libcurl (`bench/plain_client.c`: it links libcurl as the core")
      w("does, attaches with `CURLOPT_CONNECT_ONLY`, starts the container and copies each `curl_easy_recv()` of up to")
      w("256 KiB to stdout, with no Lua, no pump, no demultiplexing and no exit code), on a container made by `docker create`:")
      w("")
      w("| metric | ours | plain C client | ours/plain C |")
      w("|---|---|---|---|")
      for _, r in ipairs { { "out_tty_cpu", "tty: client CPU", FMT.s }, { "out_tty_rss", "tty: client peak RSS", FMT.KB },
        { "out_notty_cpu", "no tty: client CPU", FMT.s }, { "out_notty_rss", "no tty: client peak RSS", FMT.KB } } do
        w("| %s | %s | %s | %s |", r[2], cell(r[1], "ours", r[3]), cell(r[1], "plain", r[3]),
          ratio(med(r[1], "ours"), med(r[1], "plain")))
      end
      w("")
      w("The plain client's peak RSS is what linking Debian's libcurl costs before any work: a quarter of")
      w("docker's is below it. Its CPU is what reading as soon as bytes arrive costs.")
    end
    if sc[1] == 2 then
      w("")
      w("A bare `md5sum` is not used because Python dockerpty never ends the container's input: at the end of its")
      w("stdin it closes its `SocketIO` wrapper, which leaves the socket open, so `md5sum` waits for ever.")
    end
    w("")
  end
end

section7()

local GW_N = med("gw_idle_n", "ours") or cfg.gw_sessions
local PPC_N = med("gw_idle_n", "ppc") or cfg.ppc_sessions
if results.gw_key_p99 or results.gw_out_wall or results.gw_idle_rss or results.gw_ceiling_rate then
  w("## 10. Gateway")
  w("")
  from(10)
  w(("A WebSocket gateway on loopback (`%s`, as `make install` installs it: core.listen, core.gateway and a real exec per upgrade, on doc/gateway.md's "
    .. "`/api/exec/{container}?cmd=..&tty=1`, `v5.channel.k8s.io`, a bearer token) against the design of ttyd, gotty and the "
    .. "remote-shell post's server, one `docker exec -it` process per connection (`bench/ppc_server.js`: Node's ws, and per "
    .. "connection util-linux's `script` giving `docker exec -it` its pty, as ttyd's forkpty does; Debian 12 has no ttyd package), "
    .. "and a local `dockerpty exec -it`. One client for both servers, `bench/gw_client.js` (Node's ws, `process.hrtime`). "
    .. "Echo: %d single bytes typed into `cat` with a tty, each timed to its echo (local: in a pty, as in 4). Output: %d MB of "
    .. "`head -c` through one tty session, wall on the client, CPU of the server's processes from /proc (local: the client's). "
    .. "Idle: %d sessions of `cat` (%d for the process-per-connection server, whose processes would not fit %d times), "
    .. "opened 32 at a time, each answered before it counts; the server's memory from /proc/PID/smaps_rollup summed over it and "
    .. "its children, USS = Private_Clean + Private_Dirty; per session = (with them − before them) / N. Ceiling: "
    .. "`bench/gateway_ceiling.lua` bridges one session to `bench/sink` (%d MiB) in place of the engine's stream, read by "
    .. "`bench/ws_count` (C, a plain read() loop over the frames), with max_pending at 1 GiB, all of the transfer: the gateway "
    .. "drops a client whose queue passes max_pending (1008) rather than pausing the stream, and a sink outruns any reader, so "
    .. "with 64 MiB a round of 4 GiB was dropped at 0.6 to 3.9 GB in 2 of 3 tries; the rate is the bytes over the time to the "
    .. "close frame at the client, so what was queued is counted only once it was sent")
    :format(meta.gateway or "dockerpty serve", cfg.keys, cfg.out_bytes // MB, GW_N, PPC_N, GW_N, cfg.gw_sink_bytes // MB) .. ".")
  w("")
  w("| metric | gateway (ours) | one docker exec per connection | local `dockerpty exec` | ours/per-connection | ours/local |")
  w("|---|---|---|---|---|---|")
  local function gw_cell(key, tool, fmt) return cell(key, tool, fmt) end
  local gwrows = {
    { "gw_key_p50", "echo p50", FMT.ms }, { "gw_key_p99", "echo p99", FMT.ms },
    { "gw_out_wall", ("%d MB out: wall"):format(cfg.out_bytes // MB), FMT.s },
    { "gw_out_cpu", ("%d MB out: server CPU"):format(cfg.out_bytes // MB), FMT.s },
    { "gw_out_server_cpu", "… the per-connection design's Node server besides", FMT.s },
    { "gw_idle_rss", "idle sessions: RSS in total", FMT.KB }, { "gw_idle_uss", "idle sessions: USS in total", FMT.KB },
    { "gw_idle_per_rss", "RSS per idle session", FMT.kib }, { "gw_idle_per_uss", "USS per idle session", FMT.kib },
    { "gw_idle_n", "idle sessions held", FMT.n },
    { "gw_open_rate", "sessions opened per second", FMT.rate },
    { "gw_ceiling_rate", "ceiling, the engine replaced by the sink", FMT.gbs }, { "gw_ceiling_cpu", ("gateway CPU for the ceiling's %d MiB"):format(cfg.gw_sink_bytes // MB), FMT.s },
  }
  for _, r in ipairs(gwrows) do
    local key, label, fmt = r[1], r[2], r[3]
    if results[key] then
      w("| %s | %s | %s | %s | %s | %s |", label, gw_cell(key, "ours", fmt), gw_cell(key, "ppc", fmt), gw_cell(key, "local", fmt),
        ratio(med(key, "ours"), med(key, "ppc")), ratio(med(key, "ours"), med(key, "local")))
    end
  end
  local notes = {}
  for _, r in ipairs(gwrows) do
    for _, tool in ipairs(GW_TOOLS) do
      local n = infos[r[1]] and infos[r[1]][tool]
      if n then notes[#notes + 1] = ("¹ %s, %s: %s."):format(tool == "ppc" and "per connection" or tool, r[2], n) end
      local f = fails[r[1]] and fails[r[1]][tool]
      if f and med(r[1], tool) then notes[#notes + 1] = ("%s, a failed round: %s."):format(tool, f[1]) end
    end
  end
  if #notes > 0 then w(""); for _, n in ipairs(notes) do w(n .. "  ") end end
  local p50 = med("gw_key_p50", "ours")
  if p50 and p50 > 20 then
    w("")
    w("An echo through the gateway takes about 40 ms where the per-connection server takes under 1 ms: under strace each")
    w("message leaves the gateway in two `sendto()` calls, its 2-byte frame header and then its payload, on a socket without")
    w("`TCP_NODELAY`, so Nagle's algorithm holds the payload until the client's delayed ACK of the header (40 ms on Linux).")
    w("The same two writes per frame cost CPU on bulk output. One write per frame (or `TCP_NODELAY` on accepted sockets)")
    w("is the fix, in the C engine.")
  end
  w("")
end

-- Targets
local function rounds_of(n) return tonumber(meta["rounds." .. n]) or cfg.rounds end
local targets = {}
local function target(text, met, figures)
  local verdict = met == nil and "not measured" or (met and "**met**" or "**missed**")
  targets[#targets + 1] = { text, verdict, figures or "" }
end
local function rel(key, limit, text, fmt)
  local o, d = med(key, "ours"), med(key, "docker")
  if not o or not d then return target(text, nil) end
  target(text, o <= limit * d, ("ours %s, docker %s: ratio %.3f (limit %g)"):format(fmt(o), fmt(d), o / d, limit))
end
local per100 = 100 / out_mb
local function cpu100(v) return ("%.3f s per 100 MB"):format(v * per100) end
-- what the plain C client on libcurl spent on the same, after the last target's figures
local function plain(key, fmt)
  local v, t = med(key, "plain"), targets[#targets]
  if v and t and t[3] ~= "" then t[3] = t[3] .. ("; a plain C client on libcurl %s"):format(fmt(v)) end
end
rel("out_tty_cpu", 0.1, "client CPU per 100 MB out ≤ 0.1 × docker's (tty)", cpu100)
plain("out_tty_cpu", cpu100)
rel("out_notty_cpu", 0.1, "client CPU per 100 MB out ≤ 0.1 × docker's (no tty)", cpu100)
plain("out_notty_cpu", cpu100)
rel("out_tty_rss", 0.25, "client peak RSS ≤ 0.25 × docker's (output, tty)", FMT.KB)
plain("out_tty_rss", FMT.KB)
rel("out_notty_rss", 0.25, "client peak RSS ≤ 0.25 × docker's (output, no tty)", FMT.KB)
plain("out_notty_rss", FMT.KB)
rel("start_first", 1, "start-up to first byte no slower than docker", FMT.s)
rel("key_p99", 1, "keystroke echo p99 no slower than docker", FMT.ms)
do
  local calls, ctx, cpu = results.idle_syscalls and results.idle_syscalls.ours, results.idle_wakeups and results.idle_wakeups.ours,
    results.idle_cpu and results.idle_cpu.ours
  if calls and #calls > 0 then
    local maxc, maxx = math.max(table.unpack(calls)), math.max(table.unpack(ctx))
    target(("idle: no periodic wake-ups at all (%g s windows)"):format(cfg.idle_s), maxc == 0 and maxx == 0,
      ("ours, worst round: %d system calls, %d context switches, %.1f ms CPU"):format(maxc, maxx, math.max(table.unpack(cpu))))
  else
    target("idle: no periodic wake-ups at all", nil)
  end
end
do
  local rss, intact = results.scale_rss and results.scale_rss.ours, results.scale_intact and results.scale_intact.ours
  if rss and #rss > 0 then
    local maxr, mini = math.max(table.unpack(rss)), math.min(table.unpack(intact))
    target(("%d sessions: ≤ 20 MB RSS in total, every byte delivered"):format(cfg.scale_n),
      maxr <= 20 * 1024 and mini == cfg.scale_n and #rss == rounds_of(6),
      ("ours, worst round: %s peak RSS (limit 20.0 MB), %d of %d sessions intact, %d of %d rounds ran")
        :format(kb_mb(maxr), mini, cfg.scale_n, #rss, rounds_of(6)))
  else
    target("sessions: ≤ 20 MB RSS in total, every byte delivered", nil)
  end
end
rel("pull_wall", 1, "pull: wall no slower than docker", FMT.s)
rel("pull_cpu", 0.5, "pull: client CPU ≤ 0.5 × docker's", FMT.s)
rel("build_wall", 1, "build: wall no slower than docker", FMT.s)
rel("build_cpu", 0.5, "build: client CPU ≤ 0.5 × docker's", FMT.s)
do
  local r = med("pump_rate", "ours")
  target("pump ceiling ≥ 2 GB/s between socket pairs", r and r >= 2, r and ("ours %.2f GB/s (%.2f GiB/s); a plain read() loop %.2f GB/s")
    :format(r, r * 1e9 / 2 ^ 30, med("pump_rate", "read-loop") or 0))
end

do
  local o, l = med("gw_key_p99", "ours"), med("gw_key_p99", "local")
  target("gateway: echo p99 ≤ a local exec's + 1 ms", o and l and o <= l + 1,
    o and l and ("gateway %.2f ms, local `dockerpty exec -it` %.2f ms (limit %.2f ms); one docker exec per connection %s")
      :format(o, l, l + 1, FMT.ms(med("gw_key_p99", "ppc")) or "n/a"))
  o, l = med("gw_out_wall", "ours"), med("gw_out_wall", "local")
  target(("gateway: %d MB out within 1.1 × a local exec's wall"):format(cfg.out_bytes // MB), o and l and o <= 1.1 * l,
    o and l and ("gateway %s, local %s: ratio %.3f (limit 1.1)"):format(FMT.s(o), FMT.s(l), o / l))
  local r = med("gw_ceiling_rate", "ours")
  target("gateway ceiling ≥ 1 GB/s (the engine replaced by the sink)", r and r >= 1,
    r and ("%.2f GB/s (%.2f GiB/s)"):format(r, r * 1e9 / 2 ^ 30))
  local pr, pu, n = med("gw_idle_per_rss", "ours"), med("gw_idle_per_uss", "ours"), med("gw_idle_n", "ours")
  target("gateway: ≤ 64 KiB per idle session at 1000 sessions", pr and pr <= 64 and n >= 1000,
    pr and ("%.1f KiB RSS, %.1f KiB USS per session at %d sessions (RSS %s in total); one docker exec per connection: %s RSS, %s USS per session at %d")
      :format(pr, pu, n, FMT.KB(med("gw_idle_rss", "ours")), FMT.kib(med("gw_idle_per_rss", "ppc")) or "n/a",
        FMT.kib(med("gw_idle_per_uss", "ppc")) or "n/a", med("gw_idle_n", "ppc") or 0))
  o, l = med("gw_out_cpu", "ours"), med("gw_out_cpu", "ppc")
  target("gateway CPU per 100 MB ≤ 0.2 × one docker exec per connection's", o and l and o <= 0.2 * l,
    o and l and ("gateway %s, per connection %s (its exec's processes; %s more in its Node server): ratio %.3f (limit 0.2)")
      :format(cpu100(o), cpu100(l), cpu100(med("gw_out_server_cpu", "ppc") or 0), o / l))
end

w("## Targets")
w("")
if args.smoke then w("(Smoke sizes: the verdicts below are indicative only.)"); w("") end
w("| target | verdict | figures |")
w("|---|---|---|")
for _, t in ipairs(targets) do w("| %s | %s | %s |", t[1], t[2], t[3]) end
w("")
w("Raw numbers, one row per measurement: `results.tsv`. Chart: `results.png` (each metric's median normalised to docker = 1, log scale).")
w("")
w("![results](results.png)")
if not ok then w(""); w("**The run stopped early:** %s", tostring(err)) end

writefile(OUT .. "/RESULTS.md", table.concat(md, "\n") .. "\n")

-- Chart: the main metrics, normalised to docker = 1
local CHART = {
  { "out_tty_cpu", "output tty\\nCPU" }, { "out_tty_rss", "output tty\\npeak RSS" }, { "out_tty_wall", "output tty\\nwall" },
  { "out_notty_cpu", "output no-tty\\nCPU" }, { "out_notty_rss", "output no-tty\\npeak RSS" }, { "out_notty_wall", "output no-tty\\nwall" },
  { "in_cpu", "input\\nCPU" }, { "in_rss", "input\\npeak RSS" },
  { "start_first", "start-up\\nfirst byte" }, { "start_exit", "start-up\\nexit" },
  { "key_p50", "keystroke\\np50" }, { "key_p99", "keystroke\\np99" },
  { "idle_cpu", "idle\\nCPU" }, { "scale_rss", "scale\\nRSS total" },
  { "pull_wall", "pull\\nwall" }, { "pull_cpu", "pull\\nCPU" }, { "pull_rss", "pull\\npeak RSS" },
  { "build_wall", "build\\nwall" }, { "build_cpu", "build\\nCPU" },
  -- the gateway's rows: against one docker exec per connection, in docker's place
  { "gw_key_p99", "gw echo\\np99", "ppc" }, { "gw_out_wall", "gw output\\nwall", "ppc" },
  { "gw_out_cpu", "gw output\\nCPU", "ppc" }, { "gw_idle_per_rss", "gw RSS\\nper session", "ppc" },
}
local dat, rowsn = { "# metric ours docker python (docker = 1)" }, 0
for _, c in ipairs(CHART) do
  local d = med(c[1], c[3] or "docker")
  if d and d > 0 then
    local vals = {}
    for _, tool in ipairs(TOOLS) do
      local v = med(c[1], (c[3] and tool == "docker") and c[3] or tool)
      vals[#vals + 1] = v and ("%.4g"):format(math.max(v / d, 0.001)) or "NaN"
    end
    dat[#dat + 1] = ('"%s" %s'):format(c[2], table.concat(vals, " "))
    rowsn = rowsn + 1
  end
end
if rowsn > 0 then
  local datfile = TMP .. ".chart.dat"
  writefile(datfile, table.concat(dat, "\n") .. "\n")
  local title = ("dockerpty vs docker CLI vs Python dockerpty (%s, %s): median, docker = 1, lower is better")
    :format(cfg.mode, os.date("!%Y-%m-%d"))
  if not bash(("gnuplot -e %s bench/chart.gp"):format(q(("datafile='%s'; outfile='%s/results.png'; charttitle='%s'")
      :format(datfile, OUT, title)))) then
    log("gnuplot failed")
  end
  os.remove(datfile)
end
log("wrote %s/RESULTS.md, %s/results.tsv, %s/results.png (the run took %s s)", OUT, OUT, OUT, meta.elapsed or "?")

-- The other tools' failures are findings for the report; a measurement of ours that could
-- not be taken, or a session of ours that lost bytes, fails the run.
local ours_failed = {}
for key, by_tool in pairs(fails) do
  if by_tool.ours then ours_failed[#ours_failed + 1] = ("%s: %s"):format(key, by_tool.ours[#by_tool.ours]) end
end
for _, v in ipairs(not meta["from.6"] and results.scale_intact and results.scale_intact.ours or {}) do
  if v ~= cfg.scale_n then
    ours_failed[#ours_failed + 1] = ("scale_intact: %d of %d sessions intact"):format(v, cfg.scale_n)
    break
  end
end
table.sort(ours_failed)
for _, f in ipairs(ours_failed) do log("ours failed: %s", f) end
os.exit(ok and #ours_failed == 0 and 0 or 1)
