-- asciicast v2 recordings: a header line, then [time, "o", text] and [time, "r", "WxH"]
-- events, one JSON array a line, as `asciinema play` reads them.
local core = require "dockerpty.core"

local M = {}

local REPLACEMENT = "\239\191\189" -- U+FFFD

-- Splits bytes into valid UTF-8 (invalid bytes replaced by U+FFFD) and the start of a
-- sequence cut off at the end, to be completed by the next piece. A pure part.
function M.utf8_clean(s)
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, min
    if c < 0x80 then len = 1
    elseif c >= 0xC2 and c <= 0xDF then len, min = 2, 0x80
    elseif c >= 0xE0 and c <= 0xEF then len, min = 3, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then len, min = 4, 0x10000
    else len = 0 end
    if len == 1 then
      out[#out + 1] = s:sub(i, i)
      i = i + 1
    elseif len == 0 then
      out[#out + 1] = REPLACEMENT
      i = i + 1
    else
      local ok, cp = true, c % (2 ^ (7 - len))
      for k = 1, len - 1 do
        local b = s:byte(i + k)
        if b == nil then
          -- cut short by the end of this piece: keep it for the next one
          return table.concat(out), s:sub(i)
        end
        if b < 0x80 or b > 0xBF then ok = false break end
        cp = cp * 64 + b % 64
      end
      if ok and cp >= min and cp <= 0x10FFFF and not (cp >= 0xD800 and cp <= 0xDFFF) then
        out[#out + 1] = s:sub(i, i + len - 1)
        i = i + len
      else
        out[#out + 1] = REPLACEMENT
        i = i + 1
      end
    end
  end
  return table.concat(out), ""
end

local Recorder = {}
Recorder.__index = Recorder

-- The file, new and 0600; a symbolic link or a file with something in it is refused rather
-- than overwritten. -> file | nil, "cannot record to PATH: cause"
local function create(path, probe)
  local f, err = core.create_file(path, probe)
  if not f then return nil, "cannot record to " .. err end
  return f
end

-- check(path) -> true | nil, message: whether a recording could be made there; none is left.
function M.check(path)
  return create(path, true)
end

-- open(path, rows, cols, [title]) -> recorder | nil, message
function M.open(path, rows, cols, title)
  local f, err = create(path)
  if not f then return nil, err end
  local header = { version = 2, width = cols or 80, height = rows or 24, timestamp = os.time(),
    env = { TERM = os.getenv("TERM") or "xterm" } }
  if title then header.title = title end
  f:write(core.json_encode(header), "\n")
  return setmetatable({ file = f, start = core.monotime(), carry = "", size = ("%dx%d"):format(cols or 80, rows or 24) },
    Recorder)
end

function Recorder:event(kind, data)
  if not self.file then return end
  local t = math.floor((core.monotime() - self.start) * 1e6 + 0.5) / 1e6
  self.file:write(core.json_encode { t, kind, data }, "\n")
end

function Recorder:output(data)
  local text, carry = M.utf8_clean(self.carry .. data)
  self.carry = carry
  -- a terminal shows nothing for NUL, and JSON text here cannot carry one: it goes
  if text:find("\0", 1, true) then text = text:gsub("%z", "") end
  -- output meant for a terminal that turns a newline into CR LF (a session without a tty)
  if self.crlf then text = text:gsub("\n", "\r\n") end
  if text ~= "" then self:event("o", text) end
end

-- A size the recording does not have yet.
function Recorder:resize(rows, cols)
  local size = ("%dx%d"):format(cols, rows)
  if size == self.size then return end
  self.size = size
  self:event("r", size)
end

function Recorder:close()
  if not self.file then return end
  if self.carry ~= "" then self:event("o", REPLACEMENT) end -- a sequence that never ended
  self.file:close()
  self.file = nil
end

return M
