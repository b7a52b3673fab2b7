-- asciicast v2 event lines from C (core.cast_event, what the gateway records sessions with):
-- valid JSON whose text is record.lua's utf8_clean of the bytes, however they are cut.
local core = require "dockerpty.core"
local record = require "dockerpty.record"

-- The text of an event line, decoded.
local function text(line)
  local ev = assert(core.json_decode(line), line)
  return ev[3], ev
end

describe("core.cast_event #memcheck", function()
  it("writes [time, code, text] and a newline, JSON-escaped", function()
    local line = core.cast_event(1.5, "o", 'hi\r\n"\\\27[0m\t\0')
    assert.equal('[1.500000, "o", "hi\\r\\n\\"\\\\\\u001b[0m\\t\\u0000"]\n', line)
    local t, ev = text(line)
    assert.same({ 1.5, "o" }, { ev[1], ev[2] })
    assert.equal('hi\r\n"\\\27[0m\t\0', t)
    assert.equal('[0.000001, "r", "80x24"]\n', (core.cast_event(0.000001, "r", "80x24")))
  end)

  it("replaces what is not UTF-8 and keeps a sequence cut off for the next piece", function()
    assert.equal("\239\191\189x\239\191\189\239\191\189", text((core.cast_event(0, "o", "\255x\192\128"))))
    local line, carry = core.cast_event(0, "o", "a\226\130")
    assert.equal("a", text(line))
    assert.equal("\226\130", carry)
    line, carry = core.cast_event(0, "o", "\172b", carry)
    assert.equal("\226\130\172b", text(line))
    assert.equal("", carry)
    -- a four-byte sequence a byte at a time
    carry = ""
    local got = {}
    for _, b in ipairs { "\240", "\159", "\152", "\128" } do
      line, carry = core.cast_event(0, "o", b, carry)
      got[#got + 1] = text(line)
    end
    assert.equal("\240\159\152\128", table.concat(got))
    assert.has_error(function() core.cast_event(0, "oo", "") end)
    assert.has_error(function() core.cast_event(0, "o", "", "\240\159\152\128") end)
    assert.has_error(function() core.cast_event(-1, "o", "") end)
  end)

  it("gives record.lua's text at every cut of every input", function()
    local inputs = { "plain", "\226\130\172\240\159\152\128\195\169", "\255\254\192\175\237\160\128\244\144\128\128",
      "a\240\159\152", "\27]52;c;aGk=\7\r\n" }
    local seed = 12345
    for _ = 1, 40 do -- and bytes at random, a fixed seed
      local b = {}
      for i = 1, 24 do
        seed = (seed * 1103515245 + 12345) % 2147483648
        b[i] = string.char(seed % 7 == 0 and 0xE2 or seed % 5 == 0 and (0x80 + seed % 64) or seed % 256)
      end
      inputs[#inputs + 1] = table.concat(b)
    end
    for _, s in ipairs(inputs) do
      local want, rest = record.utf8_clean(s)
      for k = 0, #s do
        local l1, carry = core.cast_event(0, "o", s:sub(1, k))
        local l2, left = core.cast_event(0, "o", s:sub(k + 1), carry)
        assert.equal(want, text(l1) .. text(l2), ("%q cut at %d"):format(s, k))
        assert.equal(rest, left)
      end
    end
  end)
end)
