-- The text a person sees: escape and control sequences taken out, for bytes split anywhere.
local strip = require "dockerpty.strip"

describe("strip.text", function()
  local cases = {
    { "plain text", "plain text" },
    { "a\r\nb\tc\n", "a\r\nb\tc\n" },                           -- line ends and tabs stay
    { "/ # \27[6n", "/ # " },                                  -- busybox's cursor query after a prompt
    { "\27[1;31mred\27[0m", "red" },                            -- SGR
    { "\27[?2004hx\27[?2004l", "x" },                           -- private marker
    { "a\27[2 qb", "ab" },                                      -- an intermediate before the final
    { "\27]0;title\7t", "t" },                                  -- OSC ended by BEL
    { "\27]52;c;aGk=\27\\t", "t" },                             -- OSC ended by ST
    { "\27P1$r0m\27\\d", "d" },                                 -- DCS
    { "\27Xsos\27\\\27^pm\27\\\27_apc\27\\z", "z" },            -- SOS, PM, APC
    { "\27(Bx\27)0y", "xy" },                                   -- charset designations
    { "\27=\27>\0277\0278\27Mk", "k" },                           -- other ESC sequences
    { "\27#8e", "e" },
    { "bell\7 bs\8 nul\0 del\127", "bell bs nul del" },         -- C0 controls and DEL
    { "\194\155" .. "31mc1\194\157" .. "0;t\194\156!", "c1!" }, -- C1 CSI, OSC, ST in UTF-8
    { "\194\144dcs\194\156q", "q" },                            -- C1 DCS
    { "\194\133x", "x" },                                       -- NEL, a C1 control shown as nothing
    { "¢ é € 😀", "¢ é € 😀" },                                  -- UTF-8 untouched, 0xC2 too
    { "\27[1\r\n2mx", "\r\nx" },                                -- a control inside a sequence is carried out
    { "\27[12\24x", "x" },                                      -- CAN ends it unfinished
    { "\27[12\26x", "x" },                                      -- SUB too
    { "\27[1\27[2mx", "x" },                                    -- ESC starts another
    { "\27]0;t\27[1mx", "x" },                                  -- ESC ends a string and starts what follows
    { "\27]0;t\24x", "x" },
    { "\27[1é", "é" },                                          -- past ASCII inside a sequence ends it
    { "\27\27[mx", "x" },
    { "\27[1\127mx", "x" },                                     -- DEL inside is ignored
  }
  for _, c in ipairs(cases) do
    it(("gives %q for %q"):format(c[2], c[1]), function()
      assert.equal(c[2], strip.text(c[1]))
    end)
  end

  it("keeps a sequence cut at the end for the next feed", function()
    local s = strip.new()
    assert.equal("/ # ", s:feed("/ # \27["))
    assert.equal("", s:feed("6"))
    assert.equal("ok", s:feed("nok"))
    assert.equal("", s:feed("\27]0;ti"))
    assert.equal("", s:feed("tle\27"))
    assert.equal("x", s:feed("\\x\194"))
    assert.equal("¢", s:feed("\162"))
  end)

  it("keeps the streams apart", function()
    local s = strip.per_stream()
    assert.equal("a", s:feed("a\27[", 1))
    assert.equal("1mb", s:feed("1mb", 2))
    assert.equal("c", s:feed("1mc", 1))
  end)
end)

describe("strip, randomized", function()
  local pieces = { "\27[", "\27]", "\27P", "\27", "\27\\", "\7", "\24", "\26", "\194", "\155", "\156",
    "\157", "\144", "\r\n", "\t", "\0", "\127", "1;2", "?25h", "m", "n", " ", "$", "(", "B", "x", "hello",
    "é", "€", "\128", "\255", ";", "0" }
  local seed = os.time()

  it("gives the same text for any split of the bytes (seed " .. seed .. ")", function()
    math.randomseed(seed)
    for _ = 1, 2000 do
      local parts = {}
      for k = 1, math.random(0, 40) do parts[k] = pieces[math.random(#pieces)] end
      local bytes = table.concat(parts)
      local whole = strip.text(bytes)
      local s, got, at = strip.new(), {}, 1
      while at <= #bytes do
        local len = math.random(1, 6)
        got[#got + 1] = s:feed(bytes:sub(at, at + len - 1))
        at = at + len
      end
      assert.equal(whole, table.concat(got), ("%q"):format(bytes))
      -- and every byte split once
      for cut = 0, #bytes do
        local t = strip.new()
        assert.equal(whole, t:feed(bytes:sub(1, cut)) .. t:feed(bytes:sub(cut + 1)), ("%q at %d"):format(bytes, cut))
      end
      -- what comes out has no ESC and no control but tab and line ends
      assert.is_nil(whole:find("[%z\1-\8\11\12\14-\31\127]"), ("%q"):format(bytes))
    end
  end)
end)
