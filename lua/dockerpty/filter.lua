-- A filter for output that comes from elsewhere (replayed logs, say): it drops the escape
-- sequences that can query the user's terminal or reprogram it — device status and
-- attribute queries, window operations, OSC (titles, clipboard, palette), DCS, APC, PM,
-- SOS, screen's and tmux's titles, ENQ, the escapes that switch coding systems, the modes
-- that report later, and the C1 controls that start them — and keeps colours, cursor
-- movement and charsets. It follows a terminal's parser (the VT500 state machine, as xterm
-- and VTE do): a control byte inside a sequence is carried out at once and the sequence goes
-- on; ESC, CAN and SUB end a sequence or a string unfinished. What it lets through is valid
-- UTF-8: a raw C1 byte, or any other byte that is not, becomes U+FFFD. Streaming: a
-- sequence or a character may be split anywhere. A pure part.
local M = {}

local Filter = {}
Filter.__index = Filter

local MAX_CSI = 64 -- a longer control sequence is dropped whole
local FFFD = "\239\191\189"

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
-- DEC private modes left out of a set, reset, save or restore (CSI ? Pm h, l, s, r), the
-- others kept: VT52 (2), whose escapes this filter does not read; and those that make the terminal
-- report later with no key pressed: every mouse movement (1003), focus (1004), a change of
-- colour scheme (2031), the window's size (2048).
local MODE_DROP = { ["2"] = true, ["1003"] = true, ["1004"] = true, ["2031"] = true, ["2048"] = true }
local MODE_FINAL = { h = true, l = true, s = true, r = true }

-- C1 controls (as UTF-8: 0xC2 and one of 0x80..0x9F): CSI starts a control sequence; DCS,
-- SOS, OSC, PM and APC start a string; every other one (ST, and SCI, which identifies the
-- terminal) is dropped.
local C1_CSI, C1_STRING = 0x9B, { [0x90] = true, [0x98] = true, [0x9D] = true, [0x9E] = true, [0x9F] = true }

-- ESC followed by one of these starts a string that is dropped up to its end: OSC, DCS, SOS,
-- PM, APC, and screen's and tmux's window title (k).
local ESC_STRING = { [0x5D] = true, [0x50] = true, [0x58] = true, [0x5E] = true, [0x5F] = true, [0x6B] = true }

-- The nF escapes (ESC, intermediates, final) kept, by intermediate: the charset designations
-- of G0..G3 (ESC ( B, ESC ) 0 ...), which full-screen programs send all the time and which
-- only choose glyphs; and DEC's double-size lines and alignment test (ESC # 3..6, 8), which
-- only draw. Every other one is dropped: ESC % switches the coding system (after ESC % @ a
-- raw 0x9B is a CSI), ESC SP how C1 controls are sent and the conformance level, and no
-- full-screen program needs the rest.
local NF_KEEP = { ["("] = true, [")"] = true, ["*"] = true, ["+"] = true, ["-"] = true, ["."] = true, ["/"] = true }
local NF_LINE = { [0x33] = true, [0x34] = true, [0x35] = true, [0x36] = true, [0x38] = true }

function M.new()
  return setmetatable({ state = "ground", csi = "", nf = "" }, Filter)
end

-- A DECSET-like sequence ("\27[?" .. params .. final) without the modes it must not carry,
-- or nil when none is left. A parameter with a sub-parameter is no mode a terminal knows.
local function modes_kept(seq)
  local kept, dropped = {}, false
  for p in (seq:sub(4, -2) .. ";"):gmatch("([^;]*);") do
    if p:find(":", 1, true) or MODE_DROP[p:match("^0*(%d+)$") or ""] then
      dropped = true
    else
      kept[#kept + 1] = p
    end
  end
  if not dropped then return seq end
  if #kept == 0 then return nil end
  return "\27[?" .. table.concat(kept, ";") .. seq:sub(-1)
end

-- A finished control sequence ("\27[" .. body, its last byte the final): what may go on of
-- it, or nil.
local function csi_kept(seq)
  local final = seq:sub(-1)
  if CSI_DROP[final] then return nil end
  local body = seq:sub(3, -2)
  -- a parameter after an intermediate, or a private marker after the first byte: malformed,
  -- and a terminal ignores it all
  if body:find("[\32-\47][\48-\63]") or body:find(".[<=>?]") then return nil end
  local intermediates = body:match("[\32-\47]+$")
  if intermediates and CSI_DROP_INTERMEDIATE[intermediates:sub(-1) .. final] then return nil end
  local private = body:match("^[<=>?]")
  if private and CSI_DROP_PRIVATE[private .. final] then return nil end
  if private == "?" and not intermediates and MODE_FINAL[final] then return modes_kept(seq) end
  return seq
end

-- The length of the valid UTF-8 character at data[j] (a byte past ASCII); -k when it is not
-- one, its first k bytes to be replaced as one; 0 when data ends before it does.
local function utf8_len(data, j)
  local b = data:byte(j)
  local need, lo, hi
  if b >= 0xC2 and b <= 0xDF then need, lo, hi = 1, 0x80, 0xBF
  elseif b == 0xE0 then need, lo, hi = 2, 0xA0, 0xBF -- not overlong
  elseif b == 0xED then need, lo, hi = 2, 0x80, 0x9F -- not a surrogate
  elseif b >= 0xE1 and b <= 0xEF then need, lo, hi = 2, 0x80, 0xBF
  elseif b == 0xF0 then need, lo, hi = 3, 0x90, 0xBF -- not overlong
  elseif b >= 0xF1 and b <= 0xF3 then need, lo, hi = 3, 0x80, 0xBF
  elseif b == 0xF4 then need, lo, hi = 3, 0x80, 0x8F -- not past U+10FFFF
  else return -1 end
  for k = 1, need do
    local c = data:byte(j + k)
    if not c then return 0 end
    if c < lo or c > hi then return -k end
    lo, hi = 0x80, 0xBF
  end
  return need + 1
end

-- Lua 5.4's utf8.len, strict as utf8_len is, checks a run of characters in C; LuaJIT has
-- none (a global utf8 there is someone else's), and compiles the loop one character at a
-- time instead.
local run_valid = _VERSION >= "Lua 5.4" and utf8.len

-- A C1 control b (0x80..0x9F) was read: the state it leads to.
function Filter:c1(b)
  if b == C1_CSI then
    self.state, self.csi = "csi", "\27["
  elseif C1_STRING[b] then
    self.state = "string"
  else
    self.state = "ground"
  end
end

-- feed(bytes) -> the bytes that may reach the terminal
function Filter:feed(data)
  -- the start of a character the last feed ended in
  if self.pending then data, self.pending = self.pending .. data, nil end
  local out, i, n = {}, 1, #data
  local c1_at, slow_until = 0, 0 -- where the next C1 control in UTF-8 is, once looked for
  while i <= n do
    local state = self.state
    if state == "ground" then
      -- text goes on in runs: valid characters are passed over, not copied one by one
      local start = i
      while true do
        local j = data:find("[\5\27\128-\255]", i)
        if not j then
          out[#out + 1] = data:sub(start)
          i = n + 1
          break
        end
        local b = data:byte(j)
        local len = -1
        if b >= 0x80 then
          if run_valid and j >= slow_until then
            -- a run of bytes past ASCII that is all characters, and no C1 control among them
            local k = data:find("[^\128-\255]", j) or n + 1
            if k > n then
              -- data may end inside a character: the run stops before its first byte
              local l = n
              while l > j and l > n - 3 and data:byte(l) < 0xC0 do l = l - 1 end
              if l > j and data:byte(l) >= 0xC0 then k = l end
            end
            if c1_at and c1_at < j then c1_at = data:find("\194[\128-\159]", j) or false end
            if not (c1_at and c1_at < k) and run_valid(data, j, k - 1) then
              len = k - j
            else
              slow_until = k -- not all characters: the rest of the run one at a time, read once more
            end
          end
          if len < 0 then len = utf8_len(data, j) end
        end
        if len > 0 and (b ~= 0xC2 or data:byte(j + 1) > 0x9F) then
          i = j + len
        else
          if j > start then out[#out + 1] = data:sub(start, j - 1) end
          if b == 27 then
            self.state, i = "esc", j + 1
          elseif b == 5 then
            i = j + 1 -- ENQ asks for the answerback message
          elseif len > 0 then
            self:c1(data:byte(j + 1))
            i = j + 2
          elseif len == 0 then
            self.pending, i = data:sub(j), n + 1
          else
            -- what a UTF-8 terminal shows; sent on raw, a C1 byte would be a control to
            -- a terminal that is not in UTF-8
            out[#out + 1] = FFFD
            i = j - len
          end
          break
        end
      end
    elseif state == "string" then
      local j = data:find("[\7\24\26\27\194]", i)
      if not j then break end
      local b = data:byte(j)
      self.state = b == 27 and "string_esc" or b == 0xC2 and "string_c2" or "ground"
      i = j + 1
    elseif state == "csi" and data:find("^[\32-\63]", i) then
      -- parameters and intermediates, taken as one run
      local j = data:find("[^\32-\63]", i) or n + 1
      local csi = self.csi .. data:sub(i, j - 1)
      if #csi > MAX_CSI then self.state, csi = "skip_csi", "" end
      self.csi, i = csi, j
    else
      local b = data:byte(i)
      i = i + 1
      if state == "string_c2" then
        if b >= 0x80 and b <= 0x9F then
          self:c1(b)
        else
          self.state, i = "string", i - 1
        end
      elseif b >= 0x80 then
        -- a C1 control, or any other character past ASCII, inside an escape or control
        -- sequence ends it unfinished; what it is, is seen from ground
        self.state, self.csi, i = "ground", "", i - 1
      elseif state == "string_esc" then
        -- ST ends the string; any other ESC ends it too, and starts what follows
        self.state = "esc"
        if b ~= 0x5C then i = i - 1 else self.state = "ground" end
      elseif b == 24 or b == 26 then
        self.state, self.csi = "ground", "" -- CAN and SUB end any sequence unfinished
      elseif b == 27 then
        -- ... and ESC starts a new one; in a terminal a second ESC makes the first nothing,
        -- and sent on, the first would join whatever follows what the second starts
        self.state, self.csi = "esc", ""
      elseif b < 0x20 or b == 0x7F then
        -- a control inside a sequence is carried out, and the sequence goes on; DEL is
        -- ignored by the terminal, so it is nothing here, and ENQ is dropped as anywhere
        if b < 0x20 and b ~= 5 then out[#out + 1] = data:sub(i - 1, i - 1) end
      elseif state == "esc" then
        if b == 0x5B then
          self.state, self.csi = "csi", "\27["
        elseif ESC_STRING[b] then
          self.state = "string"
        elseif b == 0x5A then
          self.state = "ground" -- DECID: identify yourself
        elseif b <= 0x2F then
          self.state, self.nf = "nf", data:sub(i - 1, i - 1)
        else
          out[#out + 1] = "\27" .. data:sub(i - 1, i - 1)
          self.state = "ground"
        end
      elseif state == "nf" then
        local nf = self.nf
        if b <= 0x2F then
          -- two intermediates are already more than any escape kept has
          if #nf < 2 then self.nf = nf .. data:sub(i - 1, i - 1) end
        else
          if NF_KEEP[nf] or (nf == "#" and NF_LINE[b]) then
            out[#out + 1] = "\27" .. nf .. data:sub(i - 1, i - 1)
          end
          self.state = "ground"
        end
      elseif state == "csi" then
        -- b is the final byte (0x40..0x7E)
        local seq = csi_kept(self.csi .. data:sub(i - 1, i - 1))
        if seq then out[#out + 1] = seq end
        self.state, self.csi = "ground", ""
      elseif state == "skip_csi" then
        if b >= 0x40 then self.state = "ground" end
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
