-- The gateway's request head parser (src/request.c) and the path cleaner for its static files.
local core = require "dockerpty.core"

-- A deterministic LCG, as parsers_spec.lua has it: rand(n) gives 1..n under every Lua.
local function lcg(s)
  return function(n)
    s = ((s * 16838 % 32768) * 65536 + s * 20077 + 12345) % 2147483648
    return math.floor(s / 65536) % n + 1
  end
end

local function head(lines) return table.concat(lines, "\r\n") .. "\r\n\r\n" end

-- The outcome as a list, so that false, a table and nil, reason, status compare alike.
local function parse(bytes, opts) return { core.parse_request(bytes, opts) } end

-- Feeds the pieces to one parser; the last call's outcome, after "more" for every earlier one.
local function feed_all(pieces, opts)
  local p, got = core.request_parser(opts), nil
  for i, piece in ipairs(pieces) do
    got = { p:feed(piece) }
    if i < #pieces and got[1] ~= false then return got end
  end
  return got
end

local function refused(status, reason_pattern, got)
  assert.is_nil(got[1])
  assert.equal(status, got[3], got[2])
  if reason_pattern then assert.matches(reason_pattern, got[2]) end
end

local upgrade = head({ "GET /attach/web-1?tty=1 HTTP/1.1", "Host: gw.example:8443", "Upgrade: websocket",
  "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13" })

describe("core.parse_request #memcheck", function()
  it("reads the method, target, version and fields, and leaves the bytes after the head", function()
    local got = core.parse_request(upgrade .. "\129\5hello")
    assert.same({
      length = #upgrade, method = "GET", target = "/attach/web-1?tty=1", version = "1.1", chunked = false,
      headers = { { "Host", "gw.example:8443" }, { "Upgrade", "websocket" }, { "Connection", "Upgrade" },
        { "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==" }, { "Sec-WebSocket-Version", "13" } },
    }, got)
  end)

  it("trims spaces and tabs around values and keeps those inside, and an empty value", function()
    local got = core.parse_request(head({ "GET / HTTP/1.1", "Host:x", "X-A: \t a  b \t", "X-Empty:", "X-Sp:   " }))
    assert.same({ { "Host", "x" }, { "X-A", "a  b" }, { "X-Empty", "" }, { "X-Sp", "" } }, got.headers)
  end)

  it("takes bytes past 0x7f in a value, as obs-text", function()
    assert.same({ "X-Name", "caf\195\169 \255" },
      core.parse_request(head({ "GET / HTTP/1.1", "Host: h", "X-Name: caf\195\169 \255" })).headers[2])
  end)

  it("reads HTTP/1.0 with no Host, and a body's Content-Length, and chunked in 1.1", function()
    local got = core.parse_request("POST /login HTTP/1.0\r\nContent-Length: 12\r\n\r\ntoken=abcdef")
    assert.equal("1.0", got.version)
    assert.equal("POST", got.method)
    assert.equal(12, got.content_length)
    got = core.parse_request(head({ "POST /x HTTP/1.1", "Host: h", "transfer-encoding: Chunked" }))
    assert.is_true(got.chunked)
    assert.is_nil(got.content_length)
  end)

  it("takes any token as a method and any pchar, '/' and '?' in the target", function()
    local t = "/a-b._~!$&'()*+,;=:@/%41%7e?q=1&r=/?x"
    local got = core.parse_request(head({ "M-SEARCH " .. t .. " HTTP/1.1", "Host: h" }))
    assert.equal("M-SEARCH", got.method)
    assert.equal(t, got.target)
  end)

  it("asks for more at every prefix of a head", function()
    for i = 0, #upgrade - 1 do assert.same({ false }, parse(upgrade:sub(1, i)), "prefix " .. i) end
  end)

  -- request line, status, what the reason says
  local bad_lines = {
    { "get / HTTP/1.1", nil }, -- a token: read, the router refuses it
    { " / HTTP/1.1", 400, "request line" },
    { "GET  / HTTP/1.1", 400, "absolute path" },
    { "GET http://h/ HTTP/1.1", 400, "absolute path" },
    { "OPTIONS * HTTP/1.1", 400, "absolute path" },
    { "GET\t/ HTTP/1.1", 400, "request line" },
    { "G(T / HTTP/1.1", 400, "request line" },
    { "GET /a\0b HTTP/1.1", 400, "target" },
    { "GET /a\tb HTTP/1.1", 400, "target" },
    { "GET /a\127 HTTP/1.1", 400, "target" },
    { "GET /caf\195\169 HTTP/1.1", 400, "target" },
    { "GET /a#frag HTTP/1.1", 400, "target" },
    { "GET /a\\b HTTP/1.1", 400, "target" },
    { "GET /a\"b HTTP/1.1", 400, "target" },
    { "GET /a%zz HTTP/1.1", 400, "percent" },
    { "GET /a%4 HTTP/1.1", 400, "percent" },
    { "GET /a% HTTP/1.1", 400, "percent" },
    { "GET /a%4g HTTP/1.1", 400, "percent" },
    { "GET / HTTP/2.0", 505, "version" },
    { "GET / HTTP/1.2", 505, "version" },
    { "GET / HTTP/0.9", 505, "version" },
    { "GET / HTTP/1.1 ", 400, "request line" },
    { "GET / HTTP/1", 400, "request line" },
    { "GET / HTTP/1.10", 400, "request line" },
    { "GET / http/1.1", 400, "request line" },
    { "GET / HTTP/1.1x", 400, "request line" },
    { "GET /", 400, "target" },
  }

  it("refuses a bad request line with 400, and a version other than 1.x with 505", function()
    for _, c in ipairs(bad_lines) do
      local got = parse(c[1] .. "\r\nHost: h\r\n\r\n")
      if c[2] then refused(c[2], c[3], got) else assert.is_table(got[1], c[1]) end
    end
  end)

  local bad_fields = {
    { { "Host: a", " folded" }, 400, "folded" },
    { { "Host: a", "\tfolded" }, 400, "folded" },
    { { " Host: a" }, 400, "space before the first header" },
    { { "Host : a" }, 400, "header name" },
    { { "Host: a", ": empty name" }, 400, "header name" },
    { { "Host: a", "No-Colon" }, 400, "header name" },
    { { "Host: a", "X(y): 1" }, 400, "header name" },
    { { "Host: a", "X-A: a\1b" }, 400, "control" },
    { { "Host: a", "X-A: a\0b" }, 400, "control" },
    { { "Host: a", "X-A: a\127" }, 400, "control" },
    { { "Host: a", "X-A: a\rb" }, 400, "CRLF" },
    { { "Host: a", "host: b" }, 400, "Host" },
    { {}, 400, "no Host" },
    { { "Host: a", "Content-Length: 1", "Transfer-Encoding: chunked" }, 400, "both" },
    { { "Host: a", "Transfer-Encoding: chunked", "Content-Length: 1" }, 400, "both" },
    { { "Host: a", "Content-Length: 1", "content-length: 1" }, 400, "Content%-Length" },
    { { "Host: a", "Content-Length: 1,1" }, 400, "Content%-Length" },
    { { "Host: a", "Content-Length: -1" }, 400, "Content%-Length" },
    { { "Host: a", "Content-Length: +1" }, 400, "Content%-Length" },
    { { "Host: a", "Content-Length: 1 2" }, 400, "Content%-Length" },
    { { "Host: a", "Content-Length:" }, 400, "Content%-Length" },
    { { "Host: a", "Content-Length: 1234567890123456" }, 400, "Content%-Length" },
    { { "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked" }, 400, "Transfer%-Encoding" },
    { { "Host: a", "Transfer-Encoding: gzip, chunked" }, 501, "Transfer%-Encoding" },
    { { "Host: a", "Transfer-Encoding: identity" }, 501, "Transfer%-Encoding" },
  }

  it("refuses obs-fold, bad names and values, a second Host, and framing that could be read two ways", function()
    for _, c in ipairs(bad_fields) do
      local lines = { "GET / HTTP/1.1" }
      for _, l in ipairs(c[1]) do lines[#lines + 1] = l end
      refused(c[2], c[3], parse(head(lines)))
    end
    refused(400, "HTTP/1.0", parse("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"))
  end)

  it("refuses a line that ends in a bare LF, or a CR that no LF follows", function()
    refused(400, "CRLF", parse("GET / HTTP/1.1\nHost: a\n\n"))
    refused(400, "CRLF", parse("GET / HTTP/1.1\r\nHost: a\n\r\n"))
    refused(400, "CRLF", parse("GET / HTTP/1.1\r\nHost: a\r\n\rX"))
  end)

  it("bounds the head at max_head bytes: one past it is 431, or 414 while in the target", function()
    local h = head({ "GET / HTTP/1.1", "Host: h", "X-Pad: " .. ("p"):rep(100) })
    assert.equal(#h, core.parse_request(h, { max_head = #h }).length)
    refused(431, "too large", parse(h, { max_head = #h - 1 }))
    -- refused as soon as the bound is passed, not when the head ends
    refused(431, "too large", parse(h:sub(1, #h - 1), { max_head = #h - 2 }))
    assert.same({ false }, parse(h:sub(1, 40), { max_head = 40 }))
    refused(431, nil, parse(h:sub(1, 41), { max_head = 40 }))
    refused(414, "target", parse("GET /" .. ("a"):rep(100), { max_head = 50 }))
    -- 8 KiB unless told
    local pad = 8192 - #head({ "GET / HTTP/1.1", "Host: " })
    assert.is_table(core.parse_request(head({ "GET / HTTP/1.1", "Host: " .. ("h"):rep(pad) })))
    refused(431, nil, parse(head({ "GET / HTTP/1.1", "Host: " .. ("h"):rep(pad + 1) })))
  end)

  it("bounds the target at max_target bytes with 414", function()
    local t = "/" .. ("x"):rep(19)
    assert.equal(t, core.parse_request(head({ "GET " .. t .. " HTTP/1.1", "Host: h" }), { max_target = 20 }).target)
    refused(414, "target", parse(head({ "GET " .. t .. "y HTTP/1.1", "Host: h" }), { max_target = 20 }))
    refused(414, "target", parse(head({ "GET " .. t .. "%41 HTTP/1.1", "Host: h" }), { max_target = 21 }))
    refused(414, "target", parse("GET " .. t .. "yy", { max_target = 20 })) -- before the line ends
  end)

  it("bounds the header count at max_fields with 431", function()
    local lines = { "GET / HTTP/1.1", "Host: h" }
    for i = 1, 9 do lines[#lines + 1] = "X-" .. i .. ": " .. i end
    assert.equal(10, #core.parse_request(head(lines), { max_fields = 10 }).headers)
    refused(431, "header fields", parse(head(lines), { max_fields = 9 }))
    refused(431, "header fields", parse("GET / HTTP/1.0\r\nX: 1\r\n\r\n", { max_fields = 0 }))
    assert.is_table(core.parse_request("GET / HTTP/1.0\r\n\r\n", { max_fields = 0 }))
    lines = { "GET / HTTP/1.1", "Host: h" }
    for i = 1, 63 do lines[#lines + 1] = "X-" .. i .. ": " .. i end
    assert.equal(64, #core.parse_request(head(lines)).headers)
    lines[#lines + 1] = "X-64: 64"
    refused(431, nil, parse(head(lines)))
  end)

  it("raises on bounds out of range: a misuse, not the world's doing", function()
    assert.has_error(function() core.parse_request("", { max_head = 0 }) end)
    assert.has_error(function() core.parse_request("", { max_fields = 257 }) end)
    assert.has_error(function() core.parse_request("", "opts") end)
    assert.has_error(function() core.request_parser({ max_target = -1 }) end)
  end)

  local cases = { upgrade, upgrade .. "trailing frame bytes",
    head({ "POST /login HTTP/1.1", "Host: h", "Content-Length: 5" }) .. "a=b&c",
    head({ "GET /%zz HTTP/1.1", "Host: h" }), head({ "GET / HTTP/1.1", "Host: a", " fold" }),
    head({ "GET / HTTP/1.1", "Host: a", "Host: b" }), head({ "GET / HTTP/3.0", "Host: a" }),
    head({ "GET / HTTP/1.1", "Host: a", "Content-Length: 1", "Transfer-Encoding: chunked" }) }

  it("gives the same outcome whatever single point the bytes are split at", function()
    for _, bytes in ipairs(cases) do
      local want = parse(bytes)
      for i = 0, #bytes do
        assert.same(want, feed_all({ bytes:sub(1, i), bytes:sub(i + 1) }), ("split at %d of %q"):format(i, bytes))
      end
    end
  end)

  it("gives the same outcome fed one byte at a time, and for random splits into many pieces", function()
    local rand = lcg(23)
    for _, bytes in ipairs(cases) do
      local want, pieces = parse(bytes), {}
      for c in bytes:gmatch(".") do pieces[#pieces + 1] = c end
      assert.same(want, feed_all(pieces))
      for _ = 1, 50 do
        local cuts, at, split = {}, 0, {}
        for i = 1, rand(8) do cuts[i] = rand(#bytes + 1) - 1 end
        table.sort(cuts)
        for _, c in ipairs(cuts) do split[#split + 1] = bytes:sub(at + 1, c); at = c end
        split[#split + 1] = bytes:sub(at + 1)
        assert.same(want, feed_all(split))
      end
    end
  end)

  it("keeps its outcome once done or failed, whatever comes after", function()
    local p = core.request_parser()
    local got = p:feed(upgrade)
    assert.equal(#upgrade, got.length)
    assert.same(got, p:feed("\0\0 more"))
    p = core.request_parser()
    refused(400, nil, { p:feed("GET /\0") })
    refused(400, nil, { p:feed(" HTTP/1.1\r\n\r\n") })
  end)

  it("never raises on random bytes, nor on random edits of a good head", function()
    local rand = lcg(99)
    for _ = 1, 300 do
      local t = {}
      for i = 1, rand(200) do t[i] = string.char(rand(256) - 1) end
      local got = parse(table.concat(t), { max_head = 128 })
      assert.is_true(got[1] == false or got[1] == nil or type(got[1]) == "table")
      local s = upgrade
      for _ = 1, rand(3) do
        local at = rand(#s)
        s = s:sub(1, at - 1) .. string.char(rand(256) - 1) .. s:sub(at + 1)
      end
      got = parse(s)
      if got[1] then assert.is_true(got[1].length <= #s) end
    end
  end)
end)

describe("core.clean_path #memcheck", function()
  local good = {
    { "/", "/" }, { "/index.html", "/index.html" }, { "/a/b/c.js?v=1", "/a/b/c.js" },
    { "/a//b///c", "/a/b/c" }, { "/a/./b/.", "/a/b/" }, { "/./", "/" }, { "/.", "/" }, { "//", "/" },
    { "/dir/", "/dir/" }, { "/%41%62c", "/Abc" }, { "/caf%C3%A9", "/caf\195\169" },
    { "/a%20b", "/a b" }, { "/...", "/..." }, { "/..a/b..", "/..a/b.." }, { "/%2e", "/" },
    { "/.hidden", "/.hidden" }, { "/a?../..", "/a" }, { "/a%3fb", "/a?b" },
  }

  it("decodes percent-encodings and drops empty and '.' segments", function()
    for _, c in ipairs(good) do assert.equal(c[2], core.clean_path(c[1]), c[1]) end
  end)

  local bad = {
    { "/..", "%.%." }, { "/../etc/passwd", "%.%." }, { "/a/../../b", "%.%." }, { "/a/..", "%.%." },
    { "/%2e%2e/x", "%.%." }, { "/%2E%2E", "%.%." }, { "/.%2e/x", "%.%." }, { "/%2e./", "%.%." },
    { "/a/%2f/b", "encoded '/'" }, { "/a%2Fb", "encoded '/'" }, { "/..%2f..", "encoded '/'" },
    { "/a\\b", "backslash" }, { "/a%5cb", "backslash" }, { "/..%5c..", "backslash" },
    { "/a%00", "NUL" }, { "/a\0", "NUL" }, { "/a%0a", "control" }, { "/a%7f", "control" },
    { "/a%", "percent" }, { "/a%4", "percent" }, { "/a%4?", "percent" }, { "/a%gg", "percent" },
    { "", "absolute" }, { "a/b", "absolute" }, { "?x", "absolute" }, { "%2fa", "absolute" },
  }

  it("refuses '..' however encoded, encoded slashes, backslashes, NUL and control bytes", function()
    for _, c in ipairs(bad) do
      local path, why = core.clean_path(c[1])
      assert.is_nil(path, c[1])
      assert.matches(c[2], why, 1, false)
    end
  end)

  it("cleans what the request parser took as a target, and every result is a clean path", function()
    local rand = lcg(5)
    local alphabet = { "/", ".", "a", "%2e", "%2f", "%5c", "%00", "%", "%4", "b", "?", "%41" }
    for _ = 1, 2000 do
      local t = { "/" }
      for i = 2, rand(10) do t[i] = alphabet[rand(#alphabet)] end
      local path = core.clean_path(table.concat(t))
      if path then
        assert.equal("/", path:sub(1, 1))
        assert.is_nil(path:find("//", 1, true))
        assert.is_nil(path:find("\\", 1, true))
        assert.is_nil(path:find("\0", 1, true))
        for seg in path:gmatch("[^/]+") do assert.is_true(seg ~= ".." and seg ~= ".", path) end
      end
    end
  end)
end)
