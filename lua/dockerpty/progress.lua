-- The engine's JSON messages (pull, push, load) shown as docker's jsonmessage shows them: on a
-- terminal one line per layer, redrawn in place with cursor movement; elsewhere plain lines,
-- the bars left out. The drawing is pure: it writes through the function it is given.
local M = {}

local UNITS = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" }

-- docker's units.HumanSize: decimal units, four significant digits unless told (8002643 ->
-- "8.003MB"; 3 for images' sizes, as docker lists them).
function M.human_size(n, digits)
  local i = 1
  while n >= 1000 and i < #UNITS do
    n = n / 1000
    i = i + 1
  end
  return ("%." .. (digits or 4) .. "g%s"):format(n, UNITS[i])
end

-- Go's time.Duration String for whole seconds: 0s, 42s, 3m5s, 1h2m3s.
local function duration(s)
  if s <= 0 then return "0s" end
  local h, m = math.floor(s / 3600), math.floor(s % 3600 / 60)
  s = s % 60
  if h > 0 then return ("%dh%dm%ds"):format(h, m, s) end
  if m > 0 then return ("%dm%ds"):format(m, s) end
  return ("%ds"):format(s)
end

-- A progressDetail as docker's JSONProgress.String draws it for a terminal `width` wide: the
-- bar only past 110 columns, the time left past 50, "" when there is nothing to show.
function M.bar(p, width, now)
  local current, total = tonumber(p.current) or 0, tonumber(p.total) or 0
  if current <= 0 and total <= 0 then return "" end
  if total <= 0 then
    if p.units == nil or p.units == "" then return ("%8s"):format(M.human_size(current)) end
    return ("%d %s"):format(current, p.units)
  end
  local percentage = math.min(50, math.floor(math.floor(current / total * 100) / 2))
  local box, left = "", ""
  local numbers
  if width > 110 then
    box = "[" .. ("="):rep(percentage) .. ">" .. (" "):rep(math.max(0, 50 - percentage)) .. "] "
  end
  if p.hidecounts then
    numbers = "" -- as docker: the bar alone
  elseif p.units == nil or p.units == "" then
    numbers = current > total and ("%8s"):format(M.human_size(current))
      or ("%8s/%s"):format(M.human_size(current), M.human_size(total))
  else
    numbers = current > total and ("%d %s"):format(current, p.units)
      or ("%d/%d %s"):format(current, total, p.units)
  end
  local start = tonumber(p.start) or 0
  if current > 0 and start > 0 and percentage < 50 and width > 50 then
    local elapsed = (now or os.time()) - start
    left = " " .. duration(math.floor((total - current) * elapsed / current))
  end
  return box .. numbers .. left
end

local Display = {}
Display.__index = Display

-- new(write, {terminal =, width =}) -> display; display:add(message) draws one message and
-- returns true, or nil and the message's error (errorDetail), which it does not draw.
-- write(text) takes the bytes; terminal turns on the in-place redraw, width (200 when not
-- a terminal, as docker has it) decides the bar.
function M.new(write, opts)
  opts = opts or {}
  if type(write) ~= "function" then
    local file = write or io.stdout
    write = function(s) file:write(s) end
  end
  return setmetatable({
    write = write, terminal = opts.terminal == true,
    width = opts.width or (opts.terminal and 80 or 200), now = opts.now,
    ids = {}, count = 0,
  }, Display)
end

-- A file's display: a terminal when it is one, at its width.
function M.for_file(file)
  local core = require "dockerpty.core"
  local fd = core.fileno(file)
  local terminal = fd ~= nil and core.isatty(fd)
  local width
  if terminal then
    local _, cols = core.winsize(fd)
    width = cols
  end
  return M.new(function(s) file:write(s); file:flush() end, { terminal = terminal, width = width or 80 })
end

-- The message's error, as docker's jsonmessage gives it.
function M.error_of(msg)
  local detail = type(msg.errorDetail) == "table" and msg.errorDetail or nil
  if detail and detail.code == 401 then return "authentication is required" end
  if detail and detail.message then return tostring(detail.message) end
  if msg.error ~= nil and msg.error ~= "" then return tostring(msg.error) end
end

local function printable(s)
  return (tostring(s):gsub("[%z\1-\8\11-\31\127]", ""))
end

function Display:line(msg)
  local w, p = self.write, msg.progressDetail
  local stream = type(msg.stream) == "string" and msg.stream or ""
  local has_progress = type(p) == "table"
  local endl = ""
  if self.terminal and stream == "" and has_progress then
    w("\27[2K\r")
    endl = "\r"
  elseif has_progress and M.bar(p, self.width, self.now) ~= "" then
    return -- a bar is for a terminal only
  end
  if msg.id and msg.id ~= "" then w(printable(msg.id) .. ": ") end
  if msg.from and msg.from ~= "" then w("(from " .. printable(msg.from) .. ") ") end
  local status = printable(msg.status or "")
  if has_progress and self.terminal then
    w(status .. " " .. M.bar(p, self.width, self.now) .. endl)
  elseif type(msg.progress) == "string" and msg.progress ~= "" then
    w(status .. " " .. printable(msg.progress) .. endl)
  elseif stream ~= "" then
    w(stream .. endl)
  else
    w(status .. endl .. "\n")
  end
end

function Display:add(msg)
  if type(msg) ~= "table" or msg.aux ~= nil then return true end
  local err = M.error_of(msg)
  if err then return nil, err end
  local id = type(msg.id) == "string" and msg.id ~= "" and msg.id or nil
  local diff = 0
  if id and (type(msg.progressDetail) == "table" or (type(msg.progress) == "string" and msg.progress ~= "")) then
    local line = self.ids[id]
    if not line then
      line = self.count
      self.ids[id], self.count = line, self.count + 1
      if self.terminal then self.write("\n") end
    end
    diff = self.count - line
    if self.terminal then self.write(("\27[%dA"):format(diff)) end
  else
    -- a line that is no layer's: the layers drawn before it are not redrawn again
    self.ids, self.count = {}, 0
  end
  self:line(msg)
  if id and self.terminal and diff > 0 then self.write(("\27[%dB"):format(diff)) end
  return true
end

return M
