-- Splits a streamed answer into its lines, as they come, keeping at most one line's part:
-- the engine's pulls, pushes and builds answer with one JSON message a line. Pure.
local M = {}

-- The longest line taken: far over any message the engine sends, small enough to hold.
M.MAX_LINE = 1024 * 1024

local Splitter = {}
Splitter.__index = Splitter

-- splitter([max]) -> s; s:feed(bytes) -> {line, ...} | nil, message. Lines lose their "\n"
-- (and a "\r" before it); empty ones are dropped. s:finish() -> the last unended line or nil.
function M.splitter(max)
  return setmetatable({ pending = "", max = max or M.MAX_LINE }, Splitter)
end

function Splitter:feed(data)
  local lines, start = {}, 1
  local buf = self.pending .. data
  while true do
    local nl = buf:find("\n", start, true)
    if not nl then break end
    local line = buf:sub(start, nl - 1):gsub("\r$", "")
    if #line > self.max then return nil, self:too_long() end
    if line ~= "" then lines[#lines + 1] = line end
    start = nl + 1
  end
  self.pending = buf:sub(start)
  if #self.pending > self.max then
    self.pending = ""
    return nil, self:too_long()
  end
  return lines
end

function Splitter:too_long()
  return ("a line of more than %d bytes"):format(self.max)
end

function Splitter:finish()
  local rest = self.pending:gsub("\r$", "")
  self.pending = ""
  if rest == "" then return nil end
  return rest
end

return M
