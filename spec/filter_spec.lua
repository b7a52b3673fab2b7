-- The escape filter for output from elsewhere: what it drops, what it keeps, at every split.
local filter = require "dockerpty.filter"

local function run(s)
  return filter.new():feed(s)
end

describe("filter", function()
  it("keeps text, colours and cursor movement", function()
    local s = "plain \27[1;31mred\27[0m \27[2J\27[H\27[10;5H\27[?25l\27[?25h\27(B\27=\r\n"
    assert.equal(s, run(s))
  end)

  it("drops queries and window operations", function()
    assert.equal("ab", run("a\27[6nb"))          -- cursor position report
    assert.equal("ab", run("a\27[5nb"))          -- status report
    assert.equal("ab", run("a\27[cb"))           -- primary device attributes
    assert.equal("ab", run("a\27[>0cb"))         -- secondary device attributes
    assert.equal("ab", run("a\27[21tb"))         -- report the window title
    assert.equal("ab", run("a\27[8;100;200tb"))  -- resize the window
    assert.equal("ab", run("a\27[?2004$pb"))     -- DECRQM
    assert.equal("ab", run("a\27Zb"))            -- DECID
  end)

  it("drops OSC, DCS, APC, PM and SOS strings, ended by BEL or ST", function()
    assert.equal("ab", run("a\27]0;evil title\7b"))
    assert.equal("ab", run("a\27]52;c;ZXZpbA==\27\\b"))    -- clipboard
    assert.equal("ab", run("a\27]4;1;rgb:ff/00/00\7b"))    -- palette
    assert.equal("ab", run("a\27P$qm\27\\b"))              -- DECRQSS
    assert.equal("ab", run("a\27_apc\27\\b\27^pm\27\\\27Xsos\27\\"))
  end)

  it("gives the same result however the input is split", function()
    local s = "x\27[31my\27]0;t\7z\27[6n\27P1$r\27\\w\27[0m\r\n\27[?1049h!"
    local whole = run(s)
    assert.equal("x\27[31myzw\27[0m\r\n\27[?1049h!", whole)
    for i = 0, #s do
      for j = i, #s do
        local f = filter.new()
        assert.equal(whole, f:feed(s:sub(1, i)) .. f:feed(s:sub(i + 1, j)) .. f:feed(s:sub(j + 1)))
      end
    end
  end)

  it("ends a control sequence at ESC, CAN or SUB, as a terminal does", function()
    -- an ESC inside a CSI starts a new sequence in the terminal; it must not hide one here
    assert.equal("ab", run("a\27[\27]52;c;ZXZpbA==\7b"))
    assert.equal("ab", run("a\27[1;\27[6nb"))
    assert.equal("a\27[31mb", run("a\27[1\24\27[31mb"))
    assert.equal("ab", run("a\27[1\26b"))
    assert.equal("ab", run("a\27[" .. string.rep("1;", 100) .. "\27]0;t\7b")) -- overlong, then OSC
  end)

  it("ends a string at any ESC, CAN or SUB, as a terminal does", function()
    -- an ESC that is not ST ends the string and starts what follows: later output shows
    assert.equal("a\27[31mhello\n", run("a\27]0;oops\27[31mhello\n"))
    assert.equal("ab", run("a\27]0;oops\27[6nb"))
    assert.equal("ab", run("a\27]0;x\24b"))
    assert.equal("ab", run("a\27Pq\26b"))
  end)

  it("carries out a control byte inside a sequence, and goes on with the sequence", function()
    assert.equal("a\rb", run("a\27\r[6nb"))           -- ESC, CR, then a query
    assert.equal("ab", run("a\27\127[6nb"))             -- DEL is nothing
    assert.equal("a\7b", run("a\27\7]52;c;eA==\7b"))   -- BEL rings; the OSC is still dropped
    assert.equal("a\r\27[31mb", run("a\27[31\rmb"))     -- CR in a colour: both kept
    assert.equal("a\rb", run("a\27[?2004$\rpb"))       -- DECRQM with a CR inside
  end)

  it("drops the C1 controls that UTF-8 can carry, and what they start", function()
    assert.equal("ab", run("a\194\1556nb"))                    -- CSI 6 n
    assert.equal("a\27[31mb", run("a\194\15531mb"))           -- CSI 31 m, kept in 7 bits
    assert.equal("ab", run("a\194\1570;title\194\156b"))      -- OSC ... ST
    assert.equal("ab", run("a\194\144$qm\27\\b"))             -- DCS
    assert.equal("ab", run("a\194\154b"))                      -- SCI: identify
    assert.equal("a\194\176b é", run("a\194\176b é"))        -- a degree sign is text
  end)

  it("drops the queries newer terminals answer", function()
    assert.equal("ab", run("a\27[>qb"))          -- XTVERSION
    assert.equal("ab", run("a\27[?ub"))          -- keyboard protocol flags
    assert.equal("ab", run("a\27[1;1;1;1*yb"))   -- DECRQCRA: a checksum of the screen
    assert.equal("ab", run("a\27[#|b"))          -- XTREPORTSGR
    assert.equal("ab", run("a\27[?1;1Sb"))        -- XTSMGRAPHICS
    assert.equal("ab", run("a\27[?4mb"))         -- XTQMODKEYS
    assert.equal("ab", run("a\27[1$wb"))         -- DECRQPSR
    assert.equal("ab", run("a\27[5ib"))          -- media copy
    assert.equal("ab", run("a\27[#Rb"))          -- XTREPORTCOLORS
    assert.equal("ab", run("a\27['|b"))          -- DECRQLP: where the mouse is
    assert.equal("a\27[2 qb\27[>4;1m", run("a\27[2 qb\27[>4;1m")) -- cursor shape, key modes: kept
  end)

  it("drops the escapes that switch coding systems or modes, and keeps charset designations", function()
    assert.equal("\239\191\1896n", run("\27%@\155" .. "6n")) -- leave UTF-8, then a raw CSI 6 n
    assert.equal("ab", run("a\27%Gb"))     -- into UTF-8: a coding system all the same
    assert.equal("ab", run("a\27 Gb"))     -- S8C1T
    assert.equal("ab", run("a\27 Lb"))     -- a conformance level
    assert.equal("ab", run("a\27(%5b"))    -- a designation with two intermediates
    assert.equal("ab", run("a\27!xb"))
    assert.equal("a\rb", run("a\27%\r@b")) -- a control inside is carried out
    local kept = "\27(B\27)0\27*A\27+<\27-A\27.B\27/A\27#3\27#6\27#8"
    assert.equal(kept, run(kept))
  end)

  it("lets through valid UTF-8 only: a raw C1 byte, or any other byte that is not UTF-8, becomes U+FFFD", function()
    local R = "\239\191\189"
    assert.equal("a" .. R .. "6nb", run("a\1556nb"))     -- a raw CSI
    assert.equal(R .. "0;t" .. R, run("\1570;t\156"))    -- a raw OSC ... ST
    assert.equal(R .. R .. "a", run("\128\159a"))
    assert.equal(R .. "b", run("\226\130b"))              -- a character cut short: one U+FFFD
    assert.equal(R .. "\27[31m", run("\226\27[31m"))
    assert.equal(R .. R, run("\192\155"))                 -- an overlong ESC
    assert.equal(R .. R .. R, run("\237\160\128"))        -- a surrogate
    assert.equal(R .. R .. R .. R, run("\244\144\128\128")) -- past U+10FFFF
    assert.equal(R .. R, run("\255\169"))
    local f = filter.new()
    assert.equal("a", f:feed("a\194"))
    assert.equal("", f:feed(""))
    assert.equal("\27[31mb", f:feed("\15531mb"))          -- a C1 CSI split after its 0xC2
  end)

  it("passes valid UTF-8 untouched, however a character is split", function()
    local s = "é€😀\194\160\196\128\226\128\156x\239\191\189\244\143\191\191\224\160\128\240\144\128\128\237\159\191"
    assert.equal(s, run(s))
    for i = 0, #s do
      for j = i, #s do
        local f = filter.new()
        assert.equal(s, f:feed(s:sub(1, i)) .. f:feed(s:sub(i + 1, j)) .. f:feed(s:sub(j + 1)))
      end
    end
  end)

  it("drops ENQ, which asks for the answerback, wherever it stands", function()
    assert.equal("ab", run("a\5b"))
    assert.equal("a\27[31mb", run("a\27[3\0051mb"))
    assert.equal("ab", run("a\27\5[6nb"))
  end)

  it("drops screen's and tmux's window title, ended as the other strings are", function()
    assert.equal("ab", run("a\27kevil\27\\b"))
    assert.equal("ab", run("a\27kevil\7b"))
    assert.equal("ab", run("a\27kevil\24b"))
    assert.equal("a\27[31mb", run("a\27kevil\27[31mb"))
  end)

  it("leaves out of a mode sequence the modes that report later, and keeps the others", function()
    assert.equal("\27[?1049h", run("\27[?1049;1004h"))
    assert.equal("\27[?1000;1006h", run("\27[?1000;1003;1006h"))
    assert.equal("\27[?1049l", run("\27[?1004;1049l"))
    assert.equal("ab", run("a\27[?1004hb"))            -- focus
    assert.equal("ab", run("a\27[?1003hb"))            -- every mouse movement
    assert.equal("ab", run("a\27[?2048hb"))            -- the window's size
    assert.equal("ab", run("a\27[?2031hb"))            -- the colour scheme
    assert.equal("ab", run("a\27[?2lb"))               -- VT52
    assert.equal("ab", run("a\27[?01004;2048rb"))      -- leading zeros, a restore
    assert.equal("\27[?25h", run("\27[?1004:1;25h"))   -- a sub-parameter
    assert.equal("\27[?1049;25h", run("\27[?1049;25h"))
  end)

  -- A terminal's parser, as the VT500 state machine has it and xterm and VTE follow it,
  -- reduced to what matters here: whether the filter's output ever makes the terminal start
  -- a string (OSC, DCS, APC, PM, SOS, screen's title), identify itself, answer a query or
  -- ENQ, switch its coding system or a mode that reports later, or see a byte that is not
  -- UTF-8. It decodes UTF-8 and, as some terminals do, takes a stray C1 byte for the control.
  -- Random input from the bytes that matter, split at random.
  local QUERY_FINALS = { n = true, c = true, t = true, x = true, i = true }
  local QUERY_INTERMEDIATE = { ["$p"] = true, ["$w"] = true, ["$u"] = true, ["&u"] = true, ["*y"] = true,
    ["#|"] = true, ['"v'] = true, ["#R"] = true, ["'|"] = true }
  local QUERY_PRIVATE = { [">q"] = true, ["?u"] = true, ["?S"] = true, ["?m"] = true }
  local REPORTING_MODES = { [1003] = true, [1004] = true, [2031] = true, [2048] = true }
  -- the length and code point of the UTF-8 character at s[i], or nil when there is none
  local function decode(s, i)
    local b = s:byte(i)
    if b < 0x80 then return 1, b end
    local n = b >= 0xF0 and 4 or b >= 0xE0 and 3 or b >= 0xC0 and 2
    if not n then return nil end
    local cp = b % (n == 4 and 8 or n == 3 and 16 or 32)
    for k = 1, n - 1 do
      local c = s:byte(i + k)
      if not c or c < 0x80 or c > 0xBF then return nil end
      cp = cp * 64 + c - 0x80
    end
    if cp < ({ 0x80, 0x800, 0x10000 })[n - 1] or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
    return n, cp
  end
  local function terminal_obeys_something(s)
    local state, private, inter, params = "ground", "", "", ""
    local i = 1
    while i <= #s do
      local len, cp = decode(s, i)
      local b = s:byte(i)
      if not len and (b < 0x80 or b > 0x9F) then return ("not UTF-8: %02X"):format(b) end
      i = i + (len or 1)
      local c1 = not len and b or cp >= 0x80 and cp <= 0x9F and cp
      if c1 then
        if c1 == 0x9B then state, private, inter, params = "csi", "", "", ""
        elseif c1 == 0x90 or c1 == 0x98 or c1 == 0x9D or c1 == 0x9E or c1 == 0x9F or c1 == 0x9A then
          return ("C1 %02X"):format(c1)
        else state = "ground" end
      elseif cp == 5 then
        return "ENQ" -- a control is carried out in a sequence as in ground
      else
        b = math.min(cp, 0xA0) -- any character past ASCII stands for all
        local c = string.char(b)
        if state == "ground" then
          if c == "\27" then state = "esc" end
        elseif c == "\24" or c == "\26" then
          state = "ground"
        elseif c == "\27" then
          state = "esc"
        elseif b >= 0x20 and b ~= 0x7F then -- a control is carried out where it stands; the sequence goes on
          if state == "esc" then
            if c == "[" then state, private, inter, params = "csi", "", "", ""
            elseif c:find("^[%]PX%^_Zk]$") then return "ESC " .. c
            elseif b <= 0x2F then state, inter = "esc_intermediate", c
            else state = "ground" end
          elseif state == "esc_intermediate" then
            if b <= 0x2F then
              inter = inter .. c
            elseif b < 0x7F then
              -- charset designations choose glyphs, line sizes draw; ESC % switches the
              -- coding system (out of UTF-8: raw C1 bytes), ESC SP how C1 controls go
              if not (inter:find("^[()*+%-./]$") or (inter == "#" and c:find("^[34568]$"))) then
                return "ESC " .. inter .. c
              end
              state = "ground"
            else
              state = "ground"
            end
          elseif state == "csi" then
            if b >= 0x40 and b <= 0x7E then
              if QUERY_FINALS[c] or QUERY_INTERMEDIATE[inter:sub(-1) .. c] or QUERY_PRIVATE[private .. c] then
                return ("CSI %s...%s%s"):format(private, inter, c)
              end
              if private == "?" and inter == "" and (c == "h" or c == "l" or c == "r") then
                for p in (params .. ";"):gmatch("([^;]*);") do
                  local mode = tonumber(p:match("^%d+"))
                  if (c ~= "l" and REPORTING_MODES[mode]) or (c ~= "h" and mode == 2) then
                    return ("CSI ? %s %s"):format(mode, c)
                  end
                end
              end
              state = "ground"
            elseif b <= 0x2F then
              inter = inter .. c
            elseif c:find("^[<=>?]$") and private == "" and inter == "" and params == "" then
              private = c
            elseif b < 0x80 then
              params = params .. c
            end
          end
        end
      end
    end
  end

  it("never lets a terminal start a string or answer a query, whatever the bytes (fuzz)", function()
    local alphabet = { "\27", "\27", "[", "]", "P", "X", "^", "_", "Z", "6", "n", "c", "t", "x", "i", "$", "p",
      "w", "u", "m", "q", "S", "y", "*", "#", "|", "&", '"', "v", "R", "'", ">", "?", " ", "(", "\7", "\\", "\24", "\26",
      "\r", "\127", ";", "1", "a", "\n", "\194", "\194", "\155", "\157", "\156", "\144", "\154", "\176",
      "%", "@", "G", "!", "B", "8", "k", "\5", "h", "l", "r", "2", ":", "0", "1004", "1003", "2048", "2031", "\27[?",
      "1049;", "\128", "\133", "\159", "\195\169", "\226\128", "\240\159\152", "\237\160", "\192", "\224", "\244\144", "\255" }
    math.randomseed(6)
    for _ = 1, 40000 do
      local parts = {}
      for k = 1, math.random(1, 24) do parts[k] = alphabet[math.random(#alphabet)] end
      local s = table.concat(parts)
      local f = filter.new()
      local cut = math.random(0, #s)
      local cut2 = math.random(cut, #s)
      local out = f:feed(s:sub(1, cut)) .. f:feed(s:sub(cut + 1, cut2)) .. f:feed(s:sub(cut2 + 1))
      local bad = terminal_obeys_something(out)
      assert(not bad, ("%q let through %s as %q"):format(s, tostring(bad), out))
    end
  end)

  it("keeps a filter for each stream, so that one never finishes what the other began", function()
    local f = filter.per_stream()
    assert.equal("x", f:feed("x\27", 1))
    assert.equal("[31mE", f:feed("[31mE", 2))
    assert.equal("\27[0m\n", f:feed("[0m\n", 1))
    assert.equal("y", f:feed("y")) -- stdout when no stream is named
  end)

  it("drops an overlong control sequence whole, and holds no unbounded state", function()
    local f = filter.new()
    assert.equal("ab", f:feed("a\27[" .. string.rep("1;", 5000) .. "mb"))
    assert.equal("", f:feed("\27]" .. string.rep("x", 100000)))
    assert.equal("c", f:feed("\7c"))
  end)
end)

describe("filter_escapes on a session #engine", function()
  it("keeps a container's queries and titles from reaching the terminal", function()
    local helpers = require "helpers"
    local dockerpty = require "dockerpty"
    local c = helpers.engine()
    local id = helpers.container(c, { Cmd = { "sh", "-c",
      "printf 'ok\\033]0;evil\\007\\033[6n\\033[31mred\\033[0m\\n'" } })
    local name = os.tmpname()
    local f = assert(io.open(name, "wb"))
    assert.equal(0, dockerpty.start(c, id, { filter_escapes = true, stdout = f }))
    f:close()
    f = assert(io.open(name, "rb"))
    assert.equal("ok\27[31mred\27[0m\n", f:read("*a"))
    f:close()
    os.remove(name)
    -- without a tty, stdout and stderr each have their own: a sequence split by the other
    -- stream's output stays on its own stream (the engine reads the two apart: the pauses
    -- keep the order)
    id = helpers.container(c, { Cmd = { "sh", "-c", "printf 'x\\033'; sleep 0.3; printf '[31mE' >&2; sleep 0.3; printf '[0m\\n'" } })
    local out_name, err_name = os.tmpname(), os.tmpname()
    local fo, fe = assert(io.open(out_name, "wb")), assert(io.open(err_name, "wb"))
    assert.equal(0, dockerpty.start(c, id, { filter_escapes = true, stdout = fo, stderr = fe }))
    fo:close()
    fe:close()
    assert.equal("x\27[0m\n", helpers.read_file(out_name))
    assert.equal("[31mE", helpers.read_file(err_name))
    os.remove(out_name)
    os.remove(err_name)
    helpers.cleanup(c)
    c:close()
  end)
end)
