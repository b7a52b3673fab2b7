-- dockerpty logs: what a container printed, its stdout here on stdout and its stderr on
-- stderr, as docker logs gives it; times read as the docker CLI reads them.
local base = require "dockerpty.cli.base"

local exit_with, fail = base.exit_with, base.fail
local floor = math.floor

local M = {}

-- Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's civil).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local UNITS = { ns = 1e-9, us = 1e-6, ["µs"] = 1e-6, ms = 1e-3, s = 1, m = 60, h = 3600 }

-- Go's time.ParseDuration: "10m", "1h30m", "1.5s". Seconds, or nil.
local function duration(s)
  if s == "" then return nil end
  local total, rest = 0, s
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d*%.?%d+)([^%d.]+)(.*)$")
    if not num or not UNITS[unit] then return nil end
    total = total + tonumber(num) * UNITS[unit]
    rest = tail
  end
  return total
end

-- A time as docker logs --since takes it: a Unix time ("1700000000.5"), a duration back from
-- now ("10m"), or an RFC 3339 date and time ("2026-01-02T15:04:05Z", the zone optional, then
-- local; or a date alone). Returns a Unix time, or nil.
function M.parse_time(s, now)
  now = now or os.time()
  if s:match("^%d+$") or s:match("^%d+%.%d+$") then return tonumber(s) end
  local d = duration(s)
  if d then return now - d end
  local y, mo, da, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  local h, mi, se, frac, zone = 0, 0, 0, "", rest
  if rest ~= "" then
    h, mi, zone = rest:match("^[Tt](%d%d):(%d%d)(.*)$")
    if not h then return nil end
    local sec, z = zone:match("^:(%d%d)(.*)$")
    if sec then
      se, zone = sec, z
      local f, z2 = zone:match("^(%.%d+)(.*)$")
      if f then frac, zone = f, z2 end
    end
  end
  y, mo, da, h, mi, se = tonumber(y), tonumber(mo), tonumber(da), tonumber(h), tonumber(mi), tonumber(se)
  if mo < 1 or mo > 12 or da < 1 or da > 31 or h > 23 or mi > 59 or se > 60 then return nil end
  local offset
  if zone == "Z" or zone == "z" then
    offset = 0
  elseif zone ~= "" then
    local sign, oh, om = zone:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  local t
  if offset then
    t = days_from_civil(y, mo, da) * 86400 + h * 3600 + mi * 60 + se - offset
  else
    t = os.time { year = y, month = mo, day = da, hour = h, min = mi, sec = se }
  end
  return t + (tonumber("0" .. frac) or 0)
end

M.logs = {
  usage = "dockerpty logs [OPTIONS] CONTAINER",
  summary = "Fetch the logs of a container",
  interspersed = true,
  min_args = 1,
  max_args = 1,
  flags = {
    { short = "f", long = "follow", kind = "bool", help = "Follow log output until the container stops" },
    { short = "n", long = "tail", kind = "string", help = 'Number of lines to show from the end of the logs ("all" by default)' },
    { long = "since", kind = "string", help = "Show logs since a time (2026-01-02T15:04:05Z) or for a duration back (42m)" },
    { long = "until", kind = "string", help = "Show logs before a time (2026-01-02T15:04:05Z) or a duration back (42m)" },
    { short = "t", long = "timestamps", kind = "bool", help = "Show timestamps" },
    base.HELP,
  },
}

local OUT = { stdout = io.stdout, stderr = io.stderr }

function M.logs.handler(client, opts, args)
  local ref = args[1]
  if ref == "" then exit_with(1, base.EMPTY_NAME) end
  local tail = opts.tail
  if tail == "all" or tail == nil then
    tail = nil
  elseif tail:match("^%-?%d+$") then
    tail = tonumber(tail) >= 0 and tonumber(tail) or nil -- as docker: a negative count is all
  else
    exit_with(1, ('invalid --tail "%s": expected a number of lines or "all"'):format(tail))
  end
  local times = {}
  for _, k in ipairs { "since", "until" } do
    if opts[k] and opts[k] ~= "" then
      times[k] = M.parse_time(opts[k])
      if not times[k] then
        exit_with(1, ('invalid --%s "%s": expected a Unix time, a time as 2026-01-02T15:04:05Z or a duration as 42m')
          :format(k, opts[k]))
      end
    end
  end
  local ok, err, code = client:logs(ref, {
    follow = opts.follow, tail = tail, since = times.since, ["until"] = times["until"],
    timestamps = opts.timestamps,
    on_output = function(data, stream)
      local out = OUT[stream]
      local wrote, werr = out:write(data)
      if not wrote then exit_with(base.FAIL, ("cannot write to %s: %s"):format(stream, werr)) end
      out:flush()
    end,
  })
  if not ok then fail(err, code, type(code) == "number" and 1 or nil) end
  return 0
end

return M
