-- The text a person sees in a terminal's output: control and escape sequences taken out
-- (CSI, OSC, DCS, SOS, PM, APC, other ESC sequences, their C1 forms in UTF-8, and the C0
-- controls), tabs and line ends kept. It reads bytes as a terminal's parser does (the VT500
-- state machine): a control inside a sequence is carried out and the sequence goes on; ESC,
-- CAN and SUB end a sequence or a string unfinished. Streaming: a sequence may be split
-- anywhere. A pure part.
local M = {}

local Stripper = {}
Stripper.__index = Stripper

-- Controls that stay: what a script matches line ends and columns by ("\r\n" on a tty).
local KEEP = { [9] = true, [10] = true, [13] = true }
-- What ends plain text: ESC, 0xC2 (a C1 control may follow) and every other control.
local SPECIAL = "[%z\1-\8\11\12\14-\31\127\194]"
-- What ends a string (OSC, DCS...): BEL, CAN, SUB, ESC, 0xC2 (ST or another C1 control).
local STRING_END = "[\7\24\26\27\194]"
-- C1 controls (after 0xC2): DCS, SOS, OSC, PM, APC start a string; CSI a control sequence.
local C1_CSI, C1_STRING = 0x9B, { [0x90] = true, [0x98] = true, [0x9D] = true, [0x9E] = true, [0x9F] = true }

function M.new()
  return setmetatable({ state = "ground" }, Stripper)
end

-- text(bytes) -> the visible text of a whole output
function M.text(bytes)
  return M.new():feed(bytes)
end

local function c1_state(b)
  if b == C1_CSI then return "csi" end
  if C1_STRING[b] then return "string" end
  return "ground" -- ST, SCI and the rest: nothing to show
end

-- feed(bytes) -> the visible text in them, with what a sequence cut at the end still needs
-- kept for the next feed
function Stripper:feed(data)
  local out, i, n = {}, 1, #data
  local state = self.state
  while i <= n do
    if state == "ground" then
      local j = data:find(SPECIAL, i)
      if not j then
        out[#out + 1] = data:sub(i)
        break
      end
      if j > i then out[#out + 1] = data:sub(i, j - 1) end
      local b = data:byte(j)
      if b == 27 then state = "esc" elseif b == 0xC2 then state = "ground_c2" end
      i = j + 1
    elseif state == "string" then
      local j = data:find(STRING_END, i)
      if not j then break end
      local b = data:byte(j)
      if b == 27 then state = "string_esc" elseif b == 0xC2 then state = "string_c2" else state = "ground" end
      i = j + 1
    else
      local b = data:byte(i)
      i = i + 1
      if state == "ground_c2" or state == "string_c2" then
        if b >= 0x80 and b <= 0x9F then
          state = c1_state(b)
        else
          -- not a C1 control: in text a character (or a stray byte) as it came
          if state == "ground_c2" then out[#out + 1] = "\194" end
          state = state == "ground_c2" and "ground" or "string"
          i = i - 1
        end
      elseif state == "string_esc" then
        -- ST (ESC \) ends the string; any other ESC ends it too, and starts what follows
        if b == 92 then state = "ground" else state = "esc"; i = i - 1 end
      elseif b >= 0x80 then
        -- past ASCII inside a sequence: it ends unfinished, and the byte is seen from ground
        state = "ground"
        i = i - 1
      elseif b == 24 or b == 26 then
        state = "ground" -- CAN and SUB end a sequence unfinished
      elseif b == 27 then
        state = "esc" -- a new sequence; the one begun is nothing
      elseif b < 0x20 then
        if KEEP[b] then out[#out + 1] = string.char(b) end -- carried out; the sequence goes on
      elseif b == 0x7F then -- luacheck: ignore 542
        -- DEL is ignored inside a sequence
      elseif state == "esc" then
        if b == 91 then state = "csi" -- [
        elseif b == 93 or b == 80 or b == 88 or b == 94 or b == 95 then state = "string" -- ] P X ^ _
        elseif b < 0x30 then state = "esc_intermediate"
        else state = "ground" end
      elseif state == "esc_intermediate" then
        if b >= 0x30 then state = "ground" end
      elseif state == "csi" then
        if b >= 0x40 then state = "ground" end -- the final byte; parameters and intermediates before it
      end
    end
  end
  self.state = state
  return table.concat(out)
end

-- A stripper for each output stream of a session (1 stdout, 2 stderr), so that a sequence
-- begun on one is never finished by the other: feed(bytes, stream) -> the text.
local Streams = {}
Streams.__index = Streams

function M.per_stream()
  return setmetatable({}, Streams)
end

function Streams:feed(data, stream)
  stream = stream or 1
  local s = self[stream]
  if not s then
    s = M.new()
    self[stream] = s
  end
  return s:feed(data)
end

return M
