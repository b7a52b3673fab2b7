-- A filter for output that comes from elsewhere (replayed logs, say): it drops the escape
-- sequences that can query the user's terminal or reprogram it — device status and
-- attribute queries, window operations, OSC (titles, clipboard, palette), DCS, APC, PM,
-- SOS — and keeps colours and cursor movement. Streaming: a sequence may be split anywhere.
-- A pure part.
local M = {}

local Filter = {}
Filter.__index = Filter

local MAX_CSI = 64 -- a longer control sequence is dropped whole

-- CSI finals that answer back or act on the window: DSR (n), DA (c), window ops (t),
-- DECREQTPARM (x); and, with a "$" before them, DECRQM (p) and DECRQSS-like requests (w).
local CSI_DROP = { n = true, c = true, t = true, x = true }
local CSI_DROP_DOLLAR = { p = true, w = true }
-- Inside a control sequence: ESC, CAN and SUB end it unfinished.
local ABORT = { ["\27"] = true, ["\24"] = true, ["\26"] = true }

function M.new()
  return setmetatable({ state = "ground", csi = {} }, Filter)
end

-- feed(bytes) -> the bytes that may reach the terminal
function Filter:feed(data)
  local out, i, n = {}, 1, #data
  while i <= n do
    local state = self.state
    if state == "ground" then
      local j = data:find("\27", i, true)
      if not j then
        out[#out + 1] = data:sub(i)
        break
      end
      if j > i then out[#out + 1] = data:sub(i, j - 1) end
      self.state = "esc"
      i = j + 1
    else
      local c = data:sub(i, i)
      i = i + 1
      if state == "esc" then
        if c == "[" then
          self.state, self.csi = "csi", { "\27[" }
        elseif c == "]" or c == "P" or c == "X" or c == "^" or c == "_" then
          self.state = "string" -- dropped up to its terminator
        elseif c == "Z" then
          self.state = "ground" -- DECID: identify yourself
        elseif c ~= "\27" then
          out[#out + 1] = "\27" .. c
          self.state = "ground"
        end
        -- an escape, then another: in a terminal the second starts over, so the first is
        -- nothing; sent on, it would join whatever follows what the second starts
      elseif (state == "csi" or state == "skip_csi") and ABORT[c] then
        -- as in a terminal: ESC, CAN and SUB end a control sequence unfinished, and ESC
        -- starts a new one; what there was of the unfinished one is dropped
        self.state, self.csi = c == "\27" and "esc" or "ground", {}
      elseif state == "csi" then
        local b = c:byte()
        local csi = self.csi
        csi[#csi + 1] = c
        if b >= 0x40 and b <= 0x7E then
          local seq = table.concat(csi)
          local dollar = seq:sub(-2, -2) == "$"
          if not (CSI_DROP[c] or (dollar and CSI_DROP_DOLLAR[c])) then out[#out + 1] = seq end
          self.state, self.csi = "ground", {}
        elseif #csi > MAX_CSI then
          self.state, self.csi = "skip_csi", {}
        end
      elseif state == "skip_csi" then
        local b = c:byte()
        if b >= 0x40 and b <= 0x7E then self.state = "ground" end
      elseif state == "string" then
        if c == "\7" then self.state = "ground"
        elseif c == "\27" then self.state = "string_esc" end
      elseif state == "string_esc" then
        self.state = c == "\\" and "ground" or "string"
      end
    end
  end
  return table.concat(out)
end

return M
