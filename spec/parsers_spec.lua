-- The pure parsers of dockerpty.core: stream demultiplexer, key specs, key matcher, response heads.
local core = require "dockerpty.core"

-- A deterministic LCG: rand(n) gives 1..n, the same sequence on every run and under every Lua.
-- s * 1103515245 + 12345 mod 2^31, with the multiplier split as 16838 * 2^16 + 20077 so that
-- no step passes 2^53: exact in LuaJIT's doubles as in Lua 5.4's integers.
local function lcg(s)
  return function(n)
    s = ((s * 16838 % 32768) * 65536 + s * 20077 + 12345) % 2147483648
    return math.floor(s / 65536) % n + 1
  end
end

local function random_bytes(rand, n, alphabet)
  local t = {}
  for i = 1, n do t[i] = alphabet and alphabet[rand(#alphabet)] or string.char(rand(256) - 1) end
  return table.concat(t)
end

-- Cuts s into up to k pieces at random points (pieces may be empty).
local function random_split(rand, s, k)
  local cuts, pieces, at = {}, {}, 0
  for i = 1, rand(k) - 1 do cuts[i] = rand(#s + 1) - 1 end
  table.sort(cuts)
  for _, c in ipairs(cuts) do pieces[#pieces + 1] = s:sub(at + 1, c); at = c end
  pieces[#pieces + 1] = s:sub(at + 1)
  return pieces
end

-- A frame header: the stream type, three zero bytes, the payload size as 4 bytes big-endian.
local function frame(t, payload)
  local n = #payload
  return string.char(t, 0, 0, 0, math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
    math.floor(n / 256) % 256, n % 256) .. payload
end

-- Merges adjacent slices of one stream, dropping empty ones: what a reader of the streams sees.
local function runs(slices)
  local r = {}
  for _, s in ipairs(slices) do
    if #r > 0 and r[#r][1] == s[1] then r[#r][2] = r[#r][2] .. s[2] elseif #s[2] > 0 then r[#r + 1] = { s[1], s[2] } end
  end
  return r
end

-- Feeds the pieces to a fresh demultiplexer and returns the runs of payload it gave.
local function demux_all(pieces)
  local d, slices = core.demux(), {}
  for _, p in ipairs(pieces) do
    for _, s in ipairs(assert(d:feed(p))) do assert.is_true(#s[2] > 0); slices[#slices + 1] = s end
  end
  return runs(slices)
end

local function corrupt(v, err) assert.is_nil(v); assert.matches("^corrupt stream: ", err) end

describe("core.demux", function()
  -- The last payload looks like a corrupt header: it must not be read as one.
  local frames = { { 1, "hello " }, { 2, "oops" }, { 1, "" }, { 1, "world" }, { 3, "engine error" },
    { 0, "in" }, { 2, "!" }, { 1, "\9\9\9\9\0\0\0\1" } }
  local input, expected = {}, runs(frames)
  for i, f in ipairs(frames) do input[i] = frame(f[1], f[2]) end
  input = table.concat(input)

  it("gives the payload of a single frame with its stream type, engine errors as type 3", function()
    for t = 0, 3 do assert.same({ { t, "hi there" } }, core.demux():feed(frame(t, "hi there"))) end
  end)

  it("keeps several interleaved frames in order and apart", function()
    local out = core.demux():feed(frame(1, "a") .. frame(2, "b") .. frame(1, "c") .. frame(2, "dd"))
    assert.same({ { 1, "a" }, { 2, "b" }, { 1, "c" }, { 2, "dd" } }, out)
  end)

  it("gives nothing for zero-length frames and carries on after them", function()
    local d = core.demux()
    assert.same({}, d:feed(frame(1, "") .. frame(2, "") .. frame(3, "")))
    assert.same({ { 2, "e" } }, d:feed(frame(1, "") .. frame(2, "e") .. frame(1, "")))
    assert.same({}, d:feed(""))
  end)

  it("reads the size big-endian and passes on a large frame intact", function()
    local payload = random_bytes(lcg(7), 0x10FF01) -- over 1 MiB, every size byte in use
    local big = frame(2, payload) .. frame(1, "after")
    for _, got in ipairs({ core.demux():feed(big), demux_all(random_split(lcg(8), big, 6)) }) do
      assert.is_true(#got == 2 and got[1][1] == 2 and got[1][2] == payload, "the large payload differs")
      assert.same({ 1, "after" }, got[2])
    end
  end)

  it("rejects a header that names no stream, even split or after good frames, and stays failed", function()
    for _, head in ipairs({ "\4\0\0\0\0\0\0\1", "\255\0\0\0\0\0\0\0", "\1\1\0\0\0\0\0\1",
      "\1\0\1\0\0\0\0\1", "\1\0\0\1\0\0\0\1" }) do
      corrupt(core.demux():feed(head .. "x"))
      corrupt(core.demux():feed(frame(1, "ok") .. head))
      local d = core.demux()
      assert.same({}, d:feed(frame(1, "") .. head:sub(1, 3)))
      corrupt(d:feed(head:sub(4)))
      corrupt(d:feed("more bytes"))
    end
  end)

  it("gives the same streams whatever single point the input is split at", function()
    for i = 0, #input do
      assert.same(expected, demux_all({ input:sub(1, i), input:sub(i + 1) }), "split at " .. i)
    end
  end)

  it("gives the same streams whatever two points the input is split at", function()
    local small = frame(1, "ab") .. frame(2, "") .. frame(2, "c") .. frame(3, "de")
    for i = 0, #small do
      for j = i, #small do
        assert.same({ { 1, "ab" }, { 2, "c" }, { 3, "de" } },
          demux_all({ small:sub(1, i), small:sub(i + 1, j), small:sub(j + 1) }), ("split at %d, %d"):format(i, j))
      end
    end
  end)

  it("gives the same streams fed one byte at a time", function()
    local pieces = {}
    for c in input:gmatch(".") do pieces[#pieces + 1] = c end
    assert.same(expected, demux_all(pieces))
  end)
end)

local punct = { ["@"] = 0, ["["] = 27, ["\\"] = 28, ["]"] = 29, ["^"] = 30, ["_"] = 31 }

-- Docker's rule spelt out in Lua: the bytes, or nil for a bad spec.
local function keys_reference(spec)
  local out = {}
  for tok in (spec .. ","):gmatch("([^,]*),") do
    local k = tok:lower():match("^ctrl%-(.)$")
    local code = #tok == 1 and tok:byte() or k and (k:match("^[a-z]$") and k:byte() - 96 or punct[k])
    if not code or #out == 32 then return nil end
    out[#out + 1] = string.char(code)
  end
  return table.concat(out)
end

describe("core.parse_keys", function()
  it("reads ctrl-a to ctrl-z in either case as bytes 1 to 26", function()
    for i = 1, 26 do
      local c = string.char(96 + i)
      for _, spec in ipairs({ "ctrl-" .. c, "ctrl-" .. c:upper(), "CTRL-" .. c }) do
        assert.equal(string.char(i), core.parse_keys(spec))
      end
    end
  end)

  it("reads the punctuation ctrl keys", function()
    for c, code in pairs(punct) do assert.equal(string.char(code), core.parse_keys("ctrl-" .. c)) end
  end)

  it("reads DEL, as docker does, in either case", function()
    assert.equal("\127", core.parse_keys("DEL"))
    assert.equal("\16\127", core.parse_keys("ctrl-p,del"))
  end)

  it("reads a single character as itself", function()
    for _, c in ipairs({ "a", "Z", "1", " ", "-", "\255" }) do assert.equal(c, core.parse_keys(c)) end
  end)

  it("reads several keys, the default among them, up to 32", function()
    assert.equal("\16\17", core.parse_keys("ctrl-p,ctrl-q"))
    assert.equal("ab\3\0", core.parse_keys("a,b,ctrl-c,ctrl-@"))
    assert.equal(("\1"):rep(32), core.parse_keys(("ctrl-a,"):rep(31) .. "ctrl-a"))
  end)

  it("names the bad token exactly", function()
    for _, case in ipairs({ { "ctrl-pp", "ctrl-pp" }, { "ctrl-1", "ctrl-1" }, { "alt-x", "alt-x" },
      { "ctrl-", "ctrl-" }, { "ctrl-p,ab", "ab" }, { "ctrl-p, ctrl-q", " ctrl-q" }, { "ctrl", "ctrl" } }) do
      local want = ('invalid key spec "%s": unknown key "%s"'):format(case[1], case[2])
      assert.same({ nil, want }, { core.parse_keys(case[1]) })
    end
  end)

  it("rejects empty keys, the lone comma among them", function()
    for _, spec in ipairs({ "", ",", "ctrl-p,,ctrl-q", "ctrl-p,", ",ctrl-q" }) do
      assert.same({ nil, ('invalid key spec "%s": an empty key'):format(spec) }, { core.parse_keys(spec) })
    end
  end)

  it("rejects a spec of more than 32 keys", function()
    assert.is_nil((core.parse_keys(("a,"):rep(32) .. "a")))
    assert.is_nil((core.parse_keys(("ctrl-a,"):rep(40) .. "ctrl-a")))
  end)

  it("says a spec is too long rather than calling a valid key unknown", function()
    local spec = ("a,"):rep(32) .. "a"
    assert.equal(('invalid key spec "%s": more than 32 keys'):format(spec), select(2, core.parse_keys(spec)))
  end)

  it("does not call a two-byte token beginning with NUL empty", function()
    assert.not_matches("an empty key", select(2, core.parse_keys("\0x")), 1, true)
  end)
end)

-- Feeds each piece, feeding again what follows a match; returns output, match indices, flush.
local function drive(m, pieces)
  local out, matches = {}, {}
  for _, p in ipairs(pieces) do
    repeat
      local o, idx, used = m:feed(p)
      out[#out + 1] = o
      if idx then matches[#matches + 1] = idx else assert.equal(#p, used) end
      assert.is_true(used <= #p and (used > 0 or #p == 0))
      p = p:sub(used + 1)
    until p == ""
  end
  return table.concat(out), matches, m:flush()
end

local function matcher(...)
  local m = core.matcher()
  for i, b in ipairs({ ... }) do assert.equal(i, m:add(b)) end
  return m
end

-- The plain meaning: scanning left to right, cut out the binding occurrence that ends first
-- (the longest when several end there, the first added when equal), then go on after it.
local function reference(bindings, s)
  local out, matches, start = {}, {}, 1
  for e = 1, #s do
    local best, blen = nil, 0
    for k, b in ipairs(bindings) do
      if #b > blen and e - #b + 1 >= start and s:sub(e - #b + 1, e) == b then best, blen = k, #b end
    end
    if best then out[#out + 1] = s:sub(start, e - blen); matches[#matches + 1], start = best, e + 1 end
  end
  return table.concat(out) .. s:sub(start), matches
end

describe("core.matcher", function()
  it("passes bytes through when nothing matches, holding back a partial match", function()
    assert.same({ "hello", nil, 6 }, { matcher("\16\17"):feed("hello\16") })
    assert.same({ "\16\17", nil, 2 }, { core.matcher():feed("\16\17") })
    assert.same({ "", nil, 0 }, { matcher("\16\17"):feed("") })
  end)

  it("detaches on ctrl-p ctrl-q and leaves the rest to be fed again", function()
    local m = matcher("\16\17")
    assert.same({ "ab", 1, 4 }, { m:feed("ab\16\17cd") })
    assert.same({ "cd", nil, 2 }, { m:feed("cd") })
  end)

  it("delivers ctrl-p and b both when ctrl-p is followed by b", function()
    local m = matcher("\16\17")
    assert.same({ "", nil, 1 }, { m:feed("\16") })
    assert.same({ "\16b", nil, 1 }, { m:feed("b") })
  end)

  it("restarts after a broken sequence, so ctrl-p ctrl-p ctrl-q matches after one ctrl-p", function()
    assert.same({ "\16", 1, 3 }, { matcher("\16\17"):feed("\16\16\17") })
    assert.same({ "\16a", 1, 4 }, { matcher("\16\17"):feed("\16a\16\17") })
    assert.same({ "aa", 1, 6 }, { matcher("aaab"):feed("aaaaab") })
    assert.same({ "ab", 1, 6 }, { matcher("abac"):feed("ababac") })
  end)

  it("finds a match split at any one or two points", function()
    local input = "xy\16\16\17z\16"
    for i = 0, #input do
      for j = i, #input do
        local out, matches, held = drive(matcher("\16\17"), { input:sub(1, i), input:sub(i + 1, j), input:sub(j + 1) })
        assert.same({ "xy\16z", { 1 }, "\16" }, { out, matches, held }, ("split at %d, %d"):format(i, j))
      end
    end
  end)

  it("tells several bindings apart and reports what each feed consumed", function()
    local m = matcher("\1x", "\1y", "\2")
    assert.same({ "a", 2, 3 }, { m:feed("a\1yb\2c\1xd\1z") })
    assert.same({ "b", 3, 2 }, { m:feed("b\2c\1xd\1z") })
    assert.same({ "c", 1, 3 }, { m:feed("c\1xd\1z") })
    assert.same({ "d\1z", nil, 3 }, { m:feed("d\1z") })
    assert.same({ "", 1, 1 }, { matcher("\16", "\16"):feed("\16\16") })
  end)

  it("hands held bytes back on flush, once", function()
    local m = matcher("\16\17")
    assert.same({ "ab", nil, 3 }, { m:feed("ab\16") })
    assert.equal("\16", m:flush())
    assert.equal("", m:flush())
    assert.same({ "\17", nil, 1 }, { m:feed("\17") })
  end)

  it("hands back a full 31 held bytes when a 32-byte binding breaks", function()
    local m = matcher(("a"):rep(31) .. "b")
    assert.same({ "", nil, 31 }, { m:feed(("a"):rep(31)) })
    assert.same({ ("a"):rep(31) .. "c", nil, 1 }, { m:feed("c") })
    assert.same({ "a", 1, 33 }, { m:feed(("a"):rep(32) .. "b") })
  end)

  it("takes at most 16 bindings of 1 to 32 bytes", function()
    local m = core.matcher()
    for i = 1, 16 do assert.equal(i, m:add(string.char(i))) end
    assert.has_error(function() m:add("x") end, "too many key bindings (at most 16)")
    assert.has_error(function() core.matcher():add("") end)
    assert.has_error(function() core.matcher():add(("a"):rep(33)) end)
  end)

  -- The binding that ends first wins, even inside a partial match of a longer one.
  it("sees a binding that lies inside a longer one's partial match", function()
    assert.same({ "\1", 2, 2 }, { matcher("\1\2\3", "\2"):feed("\1\2x") })
  end)

  -- These sets have no binding inside another, where "ends first" and the plain reference differ.
  it("agrees with the plain meaning on thousands of random inputs and splits", function()
    local rand = lcg(20240501)
    local sets = { { "\16\17" }, { "\16\16\17" }, { "\16\17\16\17" }, { "\16\17", "ab", "\17a", "ba" },
      { "\16\17", "\17", "a" }, { "b", "ba", "\16" } }
    for n = 1, 3000 do
      local set = sets[n % #sets + 1]
      local input = random_bytes(rand, rand(30) - 1, { "\16", "\17", "a", "b" })
      local out, matches, held = drive(matcher((table.unpack or unpack)(set)), random_split(rand, input, 4))
      local want_out, want_matches = reference(set, input)
      assert.same({ want_out, want_matches }, { out .. held, matches }, ("%q"):format(input))
    end
  end)
end)

describe("core.parse_head", function()
  local docker = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n" ..
    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
  local lf = "HTTP/1.0 200 OK\nContent-Length: 3\n\n"
  local function fields(len, ctype, chunked) return { content_length = len, content_type = ctype, chunked = chunked } end

  it("reads docker's 101 and leaves the stream bytes after it", function()
    assert.same({ #docker, 101, fields(nil, "application/vnd.docker.raw-stream", false) },
      { core.parse_head(docker .. "\1\0\0\0\0\0\0\2hi") })
  end)

  it("reads a 200 and a 404 with their length and type", function()
    local ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"
    assert.same({ #ok, 200, fields(2, "text/plain", false) }, { core.parse_head(ok .. "OK") })
    local body = '{"message":"No such container: x"}'
    local nf = "HTTP/1.1 404 Not Found\r\nApi-Version: 1.43\r\nContent-Type: application/json\r\n" ..
      "Content-Length: " .. #body .. "\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n"
    assert.same({ #nf, 404, fields(#body, "application/json", false) }, { core.parse_head(nf .. body) })
  end)

  it("reads chunked transfer and header names in any case, trimming values", function()
    local h = "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING:  gzip, Chunked \r\ncontent-type:\ttext/x \r\n\r\n"
    assert.same({ #h, 200, fields(nil, "text/x", true) }, { core.parse_head(h) })
    local n = "HTTP/1.1 204 No Content\r\ncontent-length:0\r\n\r\n"
    assert.same({ #n, 204, fields(0, "", false) }, { core.parse_head(n) })
  end)

  it("asks for more bytes at every prefix of a valid head", function()
    for _, head in ipairs({ docker, lf }) do
      for i = 0, #head - 1 do assert.same({ 0 }, { core.parse_head(head:sub(1, i)) }, "prefix " .. i) end
    end
  end)

  it("accepts heads whose lines end in a bare LF", function()
    assert.same({ #lf, 200, fields(3, "", false) }, { core.parse_head(lf .. "abc") })
    local mixed = "HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\n\r\n"
    assert.equal(#mixed, (core.parse_head(mixed .. "\1\0")))
  end)

  it("rejects what is not an HTTP/1.x response head", function()
    for _, s in ipairs({ "SSH-2.0-OpenSSH_9.6\r\n", "SSH-2", "HTTP/2 200\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1200 OK\r\n\r\n", "\r\n\r\n", "HTTP/1.1\n\n" }) do
      assert.same({ nil, "not an HTTP response head" }, { core.parse_head(s) }, ("%q"):format(s))
    end
  end)

  it("rejects a content length that is not a plain number", function()
    for _, v in ipairs({ "abc", "-1", "", "1 2", "12a", "0x10", "99999999999999999999" }) do
      assert.is_nil((core.parse_head("HTTP/1.1 200 OK\r\nContent-Length: " .. v .. "\r\n\r\n")), v)
    end
  end)

  it("takes a head of 16 KiB but not one byte more, complete or not", function()
    local function head(size) return "HTTP/1.1 200 OK\r\nX-Pad: " .. ("p"):rep(size - 28) .. "\r\n\r\n" end
    assert.equal(16384, (core.parse_head(head(16384) .. "body")))
    assert.is_nil((core.parse_head(head(16385))))
    assert.equal(0, (core.parse_head(head(16386):sub(1, 16384))))
    assert.is_nil((core.parse_head(head(16386):sub(1, 16385))))
  end)
end)

describe("the parsers under random bytes", function()
  it("demux reads random well-formed streams and fails cleanly on random bytes", function()
    local rand = lcg(99)
    for _ = 1, 300 do
      local frames, input = {}, {}
      for i = 1, rand(6) - 1 do
        frames[i] = { rand(4) - 1, random_bytes(rand, rand(20) - 1) }
        input[i] = frame(frames[i][1], frames[i][2])
      end
      assert.same(runs(frames), demux_all(random_split(rand, table.concat(input), 5)))
      local d = core.demux()
      for _, p in ipairs(random_split(rand, random_bytes(rand, rand(64)), 4)) do
        local out, err = d:feed(p)
        if not out then corrupt(out, err); break end
        for _, s in ipairs(out) do assert.is_true(s[1] >= 0 and s[1] <= 3 and #s[2] > 0) end
      end
    end
  end)

  it("parse_keys agrees with docker's rule or gives a message", function()
    local rand = lcg(5)
    local parts = { "ctrl-", "CTRL-", "Ctrl-", "a", "Q", "@", "_", "[", "]", ",", ",", "-", "1", "\0", "\255" }
    for n = 1, 3000 do
      local spec = n % 10 == 0 and ("a,"):rep(rand(3) + 29) .. "b" or random_bytes(rand, rand(12), parts)
      local v, err = core.parse_keys(spec)
      assert.equal(keys_reference(spec), v, ("%q"):format(spec))
      if not v then assert.matches('^invalid key spec "', err) end
    end
  end)

  it("the matcher loses no bytes, whatever the bindings and input", function()
    local rand = lcg(31337)
    for _ = 1, 500 do
      local m, bindings, removed = core.matcher(), {}, 0
      for i = 1, rand(4) do bindings[i] = random_bytes(rand, rand(3), { "\1", "\2", "\3" }); m:add(bindings[i]) end
      local input = random_bytes(rand, rand(40) - 1, { "\1", "\2", "\3", "x" })
      local out, matches, held = drive(m, random_split(rand, input, 4))
      for _, i in ipairs(matches) do removed = removed + #bindings[i] end
      assert.equal(#input, #out + #held + removed)
    end
  end)

  it("parse_head gives a well-formed answer for random and mutated heads", function()
    local rand = lcg(4242)
    local docker = "HTTP/1.1 101 UPGRADED\r\nContent-Length: 12\r\nUpgrade: tcp\r\n\r\nstream"
    for n = 1, 3000 do
      local s = random_bytes(rand, rand(40), { "H", "T", "P", "/", "1", ".", " ", "\r", "\n", ":", "x" })
      if n % 2 == 0 then
        local at = rand(#docker)
        s = docker:sub(1, at - 1) .. string.char(rand(256) - 1) .. docker:sub(at + 1)
      end
      local len, status, f = core.parse_head(s)
      if len == nil then
        assert.equal("not an HTTP response head", status)
      elseif len > 0 then
        assert.is_true(len <= #s and status >= 0 and status <= 999 and type(f.content_type) == "string")
        assert.is_true(s:sub(len - 1, len) == "\n\n" or s:sub(len - 2, len) == "\n\r\n")
      end
    end
  end)
end)
