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

  -- A terminal's parser, as the VT500 state machine has it, reduced to what matters here:
  -- whether the filter's output ever makes the terminal start a string (OSC, DCS, APC, PM,
  -- SOS), identify itself, or answer a query. Random input from the bytes that matter.
  local function terminal_obeys_something(s)
    local state, csi = "ground", ""
    for c in s:gmatch(".") do
      if state == "ground" then
        if c == "\27" then state = "esc" end
      elseif c == "\24" or c == "\26" then
        state = "ground"
      elseif c == "\27" then
        state = "esc"
      elseif state == "esc" then
        if c == "[" then state, csi = "csi", ""
        elseif c:find("^[%]PX%^_Z]$") then return "ESC " .. c
        else state = "ground" end
      elseif state == "csi" then
        local b = c:byte()
        if b >= 0x40 and b <= 0x7E then
          if c:find("^[nctx]$") or (csi:sub(-1) == "$" and c:find("^[pw]$")) then return "CSI " .. csi .. c end
          state = "ground"
        else
          csi = csi .. c
        end
      end
    end
  end

  it("never lets a terminal start a string or answer a query, whatever the bytes (fuzz)", function()
    local alphabet = { "\27", "\27", "[", "]", "P", "X", "^", "_", "Z", "6", "n", "c", "t", "x", "$", "p", "w",
      "m", "\7", "\\", "\24", "\26", ";", "1", "a", "\n" }
    math.randomseed(6)
    for _ = 1, 20000 do
      local parts = {}
      for k = 1, math.random(1, 24) do parts[k] = alphabet[math.random(#alphabet)] end
      local s = table.concat(parts)
      local f = filter.new()
      local cut = math.random(0, #s)
      local out = f:feed(s:sub(1, cut)) .. f:feed(s:sub(cut + 1))
      local bad = terminal_obeys_something(out)
      assert(not bad, ("%q let through %s as %q"):format(s, tostring(bad), out))
    end
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
    helpers.cleanup(c)
    c:close()
  end)
end)
