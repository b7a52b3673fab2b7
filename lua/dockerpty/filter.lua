-- A filter for output that comes from elsewhere (replayed logs, say): it drops the escape
-- sequences that can query the user's terminal or reprogram it — device status and
-- attribute queries, window operations, OSC (titles, clipboard, palette), DCS, APC, PM,
-- SOS, and the C1 controls that start them in UTF-8 — and keeps colours and cursor
-- movement. It follows a terminal's parser (the VT500 state machine, as xterm and VTE do):
-- a control byte inside a sequence is carried out at once and the sequence goes on; ESC,
-- CAN and SUB end a sequence or a string unfinished. Streaming: a sequence may be split
-- anywhere. A pure part.
local M = {}

local Filter = {}
Filter.__index = Filter

local MAX_CSI = 64 -- a longer control sequence is dropped whole

-- Control sequences that answer back or act on the window, by final byte: DSR (n), DA (c),
-- window operations (t), DECREQTPARM (x), media copy (i).
local CSI_DROP = { n = true, c = true, t = true, x = true, i = true }
-- ... by intermediate and final: DECRQM ($p), DECRQPSR ($w), DECRQTSR ($u), DECRQUPSS (&u),
-- DECRQCRA (*y), XTREPORTSGR (#|), DECRQDE ("v), XTREPORTCOLORS (#R), DECRQLP ('|).
local CSI_DROP_INTERMEDIATE = { ["$p"] = true, ["$w"] = true, ["$u"] = true, ["&u"] = true,
  ["*y"] = true, ["#|"] = true, ['"v'] = true, ["#R"] = true, ["'|"] = true }
-- ... by private marker and final: XTVERSION (>q), the keyboard protocol's query (?u),
-- XTSMGRAPHICS (?S), XTQMODKEYS (?m).
local CSI_DROP_PRIVATE = { [">q"] = true, ["?u"] = true, ["?S"] = true, ["?m"] = true }

-- C1 controls, as UTF-8 (0xC2 and one of 0x80..0x9F): CSI starts a control sequence; DCS,
-- SOS, OSC, PM and APC start a string; every other one (ST, and SCI, which identifies the
-- terminal) is dropped.
local C1_CSI, C1_STRING = 0x9B, { [0x90] = true, [0x98] = true, [0x9D] = true, [0x9E] = true, [0x9F] = true }

function M.new()
  return setmetatable({ state = "ground", csi = {} }, Filter)
end

-- Whether a finished control sequence ("\27[" .. body, its last byte the final) may go on.
local function csi_allowed(seq)
  local final = seq:sub(-1)
  if CSI_DROP[final] then return false end
  local body = seq:sub(3, -2)
  -- a parameter after an intermediate, or a private marker after the first byte: malformed,
  -- and a terminal ignores it all
  if body:find("[\32-\47][\48-\63]") or body:find(".[<=>?]") then return false end
  local intermediates = body:match("[\32-\47]+$")
  if intermediates and CSI_DROP_INTERMEDIATE[intermediates:sub(-1) .. final] then return false end
  local private = body:match("^[<=>?]")
  if private and CSI_DROP_PRIVATE[private .. final] then return false end
  return true
end

-- A C1 control b (0x80..0x9F) was read: the state it leads to.
function Filter:c1(b)
  if b == C1_CSI then
    self.state, self.csi = "csi", { "\27[" }
  elseif C1_STRING[b] then
    self.state = "string"
  else
    self.state = "ground"
  end
end

-- feed(bytes) -> the bytes that may reach the terminal
function Filter:feed(data)
  local out, i, n = {}, 1, #data
  while i <= n do
    local state = self.state
    if state == "ground" then
      local j = data:find("[\27\194]", i)
      if not j then
        out[#out + 1] = data:sub(i)
        break
      end
      if j > i then out[#out + 1] = data:sub(i, j - 1) end
      self.state = data:byte(j) == 27 and "esc" or "ground_c2"
      i = j + 1
    else
      local c = data:sub(i, i)
      local b = c:byte()
      i = i + 1
      if b >= 0x80 and (state == "esc" or state == "csi" or state == "skip_csi" or state == "string_esc") then
        -- a C1 control, or any other character past ASCII, inside an escape or control
        -- sequence ends it unfinished; what it is, is seen from ground
        self.state, self.csi = "ground", {}
        i = i - 1
      elseif state == "ground_c2" or state == "string_c2" then
        if b >= 0x80 and b <= 0x9F then
          self:c1(b)
        elseif state == "ground_c2" then
          -- a character like any other, or else a byte the terminal shows as U+FFFD: shown
          -- so here, as a lone 0xC2 could make a C1 control with a byte after what is dropped
          out[#out + 1] = b >= 0xA0 and b <= 0xBF and "\194" or "\239\191\189"
          self.state = "ground"
          i = i - 1
        else
          self.state = "string"
          i = i - 1
        end
      elseif state == "string" then
        if c == "\7" or c == "\24" or c == "\26" then self.state = "ground"
        elseif c == "\27" then self.state = "string_esc"
        elseif b == 0xC2 then self.state = "string_c2" end
      elseif state == "string_esc" then
        -- ST ends the string; any other ESC ends it too, and starts what follows
        self.state = "esc"
        if c ~= "\\" then i = i - 1 else self.state = "ground" end
      elseif c == "\24" or c == "\26" then
        self.state, self.csi = "ground", {} -- CAN and SUB end any sequence unfinished
      elseif c == "\27" then
        -- ... and ESC starts a new one; in a terminal a second ESC makes the first nothing,
        -- and sent on, the first would join whatever follows what the second starts
        self.state, self.csi = "esc", {}
      elseif b < 0x20 or b == 0x7F then
        -- a control inside a sequence is carried out, and the sequence goes on; DEL is
        -- ignored by the terminal, so it is nothing here
        if b < 0x20 then out[#out + 1] = c end
      elseif state == "esc" then
        if c == "[" then
          self.state, self.csi = "csi", { "\27[" }
        elseif c == "]" or c == "P" or c == "X" or c == "^" or c == "_" then
          self.state = "string" -- dropped up to its end
        elseif c == "Z" then
          self.state = "ground" -- DECID: identify yourself
        else
          out[#out + 1] = "\27" .. c
          self.state = "ground"
        end
      elseif state == "csi" then
        local csi = self.csi
        csi[#csi + 1] = c
        if b >= 0x40 and b <= 0x7E then
          local seq = table.concat(csi)
          if csi_allowed(seq) then out[#out + 1] = seq end
          self.state, self.csi = "ground", {}
        elseif #csi > MAX_CSI then
          self.state, self.csi = "skip_csi", {}
        end
      elseif state == "skip_csi" then
        if b >= 0x40 and b <= 0x7E then self.state = "ground" end
      end
    end
  end
  return table.concat(out)
end

-- A filter for each output stream of a session (1 stdout, 2 stderr), so that a sequence
-- begun on one is never finished by the other: feed(bytes, stream) -> what may go on.
local Streams = {}
Streams.__index = Streams

function M.per_stream()
  return setmetatable({}, Streams)
end

function Streams:feed(data, stream)
  stream = stream or 1
  local f = self[stream]
  if not f then
    f = M.new()
    self[stream] = f
  end
  return f:feed(data)
end

return M
