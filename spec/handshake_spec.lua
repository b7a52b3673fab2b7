-- The WebSocket opening handshake (src/handshake.c): a server's checks and accept, a client's key.
local core = require "dockerpty.core"

local function head(lines) return table.concat(lines, "\r\n") .. "\r\n\r\n" end

-- RFC 6455 section 1.3's request, and lines of it replaced, dropped or added.
local rfc = { "GET /chat HTTP/1.1", "Host: server.example.com", "Upgrade: websocket",
  "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Origin: http://example.com",
  "Sec-WebSocket-Protocol: chat, superchat", "Sec-WebSocket-Version: 13" }

local function with(changes)
  local lines = {}
  for i, l in ipairs(rfc) do
    local c = changes[i]
    if c == nil then lines[#lines + 1] = l elseif c then lines[#lines + 1] = c end
  end
  for _, l in ipairs(changes.add or {}) do lines[#lines + 1] = l end
  return head(lines)
end

local function upgrade(bytes) return { core.ws_upgrade(bytes) } end

local function refused(status, pattern, got)
  assert.is_nil(got[1])
  assert.equal(status, got[3], got[2])
  assert.matches(pattern, got[2])
end

describe("core.ws_accept #memcheck", function()
  it("answers RFC 6455's example key with its example accept", function()
    assert.equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", core.ws_accept("dGhlIHNhbXBsZSBub25jZQ=="))
  end)

  it("is base64 of the SHA-1 of the key and the GUID, for any bytes", function()
    assert.equal("Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=", core.ws_accept(""))
    for _, k in ipairs({ "x", ("k"):rep(1000), "\0\255" }) do
      assert.matches("^[%w+/]+=$", core.ws_accept(k))
      assert.equal(28, #core.ws_accept(k))
    end
  end)
end)

describe("core.ws_upgrade #memcheck", function()
  it("accepts RFC 6455's example request, with its accept and subprotocols", function()
    assert.same({ accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", protocols = { "chat", "superchat" } },
      core.ws_upgrade(head(rfc)))
  end)

  it("reads names and tokens in any case, token lists, and fields given more than once", function()
    local got = core.ws_upgrade(head({ "GET /attach/x HTTP/1.1", "host: h", "UPGRADE: WebSocket",
      "connection: keep-alive", "Connection: ,  UPGRADE ,", "sec-websocket-key:  dGhlIHNhbXBsZSBub25jZQ==  ",
      "sec-websocket-version: 13", "Sec-WebSocket-Protocol: , v5.channel.k8s.io,,", "Sec-WebSocket-Protocol: " ..
      "base64url.bearer.authorization.k8s.io.dG9rZW4" }))
    assert.same({ accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
      protocols = { "v5.channel.k8s.io", "base64url.bearer.authorization.k8s.io.dG9rZW4" } }, got)
    got = core.ws_upgrade(with({ [3] = "Upgrade: h2c, websocket", [7] = false }))
    assert.same({}, got.protocols)
  end)

  it("refuses a method other than GET with 405, and HTTP/1.0 or a body with 400", function()
    refused(405, "GET", upgrade(with({ [1] = "POST /chat HTTP/1.1" })))
    refused(405, "GET", upgrade(with({ [1] = "get /chat HTTP/1.1" })))
    refused(400, "HTTP/1.0", upgrade(with({ [1] = "GET /chat HTTP/1.0" })))
    refused(400, "body", upgrade(with({ add = { "Content-Length: 2" } })))
    refused(400, "body", upgrade(with({ add = { "Transfer-Encoding: chunked" } })))
    assert.is_table(core.ws_upgrade(with({ add = { "Content-Length: 0" } })))
  end)

  it("refuses an upgrade to anything but websocket, or with no Connection: Upgrade, with 400", function()
    for _, l in ipairs({ false, "Upgrade: h2c", "Upgrade: websocketx", "Upgrade: web socket",
      "Upgrade: websocket/13", "X-Upgrade: websocket" }) do
      refused(400, "Upgrade: websocket", upgrade(with({ [3] = l })))
    end
    for _, l in ipairs({ false, "Connection: keep-alive", "Connection: upgraded", "Connection: Upgrade-Insecure",
      "Connection: up grade" }) do
      refused(400, "Connection: Upgrade", upgrade(with({ [4] = l })))
    end
  end)

  it("refuses a version other than 13 with 426, which the answer names", function()
    for _, l in ipairs({ false, "Sec-WebSocket-Version: 8", "Sec-WebSocket-Version: 13, 8",
      "Sec-WebSocket-Version: 130", "Sec-WebSocket-Version:" }) do
      refused(426, "version other than 13", upgrade(with({ [8] = l })))
    end
    refused(426, "13", upgrade(with({ add = { "Sec-WebSocket-Version: 13" } })))
  end)

  it("refuses a key that is not base64 of 16 bytes, or given twice, with 400", function()
    for _, k in ipairs({ false, "Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==", -- bits past the 16th byte
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ-=",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZ SBub25jZQ==", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ&=",
      "Sec-WebSocket-Key: c2FtcGxlIG5vbmNlIG9mIDE3Yg==" -- 17 bytes spelled in 28
    }) do
      refused(400, "Sec%-WebSocket%-Key", upgrade(with({ [5] = k })))
    end
    refused(400, "Sec%-WebSocket%-Key", upgrade(with({ add = { "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==" } })))
    assert.is_table(core.ws_upgrade(with({ [5] = "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==" })))
    assert.is_table(core.ws_upgrade(with({ [5] = "Sec-WebSocket-Key: ////////////////////+w==" })))
  end)

  it("refuses a subprotocol that is no token, and more than 16 of them, with 400", function()
    for _, p in ipairs({ "chat/1", "a b", "x=y", "\"chat\"", "a;b" }) do
      refused(400, "Sec%-WebSocket%-Protocol", upgrade(with({ [7] = "Sec-WebSocket-Protocol: " .. p })))
    end
    local many = {}
    for i = 1, 16 do many[i] = "p" .. i end
    assert.same(many, core.ws_upgrade(with({ [7] = "Sec-WebSocket-Protocol: " .. table.concat(many, ", ") })).protocols)
    many[17] = "p17"
    refused(400, "subprotocols", upgrade(with({ [7] = "Sec-WebSocket-Protocol: " .. table.concat(many, ",") })))
  end)

  it("passes on the request parser's refusals, and false while the head is incomplete", function()
    local h = head(rfc)
    for i = 0, #h - 1 do assert.same({ false }, upgrade(h:sub(1, i)), "prefix " .. i) end
    assert.same({ nil, "more than one Host", 400 }, upgrade(with({ add = { "Host: other" } })))
    assert.same({ nil, "an HTTP version other than 1.1 and 1.0", 505 }, upgrade(with({ [1] = "GET /chat HTTP/2.0" })))
    refused(431, "too large", { core.ws_upgrade(h, { max_head = 64 }) })
  end)
end)

describe("core.ws_client_key and core.ws_client_check #memcheck", function()
  it("makes keys of 16 random bytes in base64 that a server takes, a new one each time", function()
    local seen = {}
    for _ = 1, 200 do
      local k = assert(core.ws_client_key())
      assert.matches("^[%w+/]+==$", k)
      assert.equal(24, #k)
      assert.is_nil(seen[k])
      seen[k] = true
      assert.is_table(core.ws_upgrade(with({ [5] = "Sec-WebSocket-Key: " .. k })))
    end
  end)

  it("takes the server's accept for its key, spaces around it, and nothing else", function()
    assert.is_true(core.ws_client_check("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    assert.is_true(core.ws_client_check("dGhlIHNhbXBsZSBub25jZQ==", " \ts3pPLMBiTxaQ9kYGzzhZRbK+xOo= "))
    local k = core.ws_client_key()
    assert.is_true(core.ws_client_check(k, core.ws_accept(k)))
    assert.is_true(core.ws_client_check(k, core.ws_upgrade(with({ [5] = "Sec-WebSocket-Key: " .. k })).accept))
    for _, a in ipairs({ "", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo==",
      "S3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\0", "dGhlIHNhbXBsZSBub25jZQ==" }) do
      assert.is_false(core.ws_client_check("dGhlIHNhbXBsZSBub25jZQ==", a), a)
    end
    assert.is_false(core.ws_client_check(k, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
  end)
end)

describe("core.ws_client_verify #memcheck", function()
  local key = "dGhlIHNhbXBsZSBub25jZQ=="
  local function answer(extra)
    local lines = { "HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" }
    for i, l in pairs(extra or {}) do lines[i] = l or nil end
    local t = {}
    for i = 1, 10 do if lines[i] then t[#t + 1] = lines[i] end end
    return head(t)
  end

  it("takes RFC 6455's answer, in any case, with the first frames after it", function()
    assert.same({ true }, { core.ws_client_verify(answer() .. "\129\2hi", key) })
    assert.same({ true }, { core.ws_client_verify(answer({ [2] = "upgrade: WebSocket",
      [3] = "connection: keep-alive, upgrade" }), key) })
  end)

  it("gives the subprotocol the server chose among those offered", function()
    local a = answer({ [5] = "Sec-WebSocket-Protocol: chat" })
    assert.same({ true, "chat" }, { core.ws_client_verify(a, key, "superchat, chat") })
    assert.same({ nil, "the server chose a subprotocol that was not offered" },
      { core.ws_client_verify(a, key, "superchat") })
    assert.is_nil((core.ws_client_verify(a, key)))
    assert.is_nil((core.ws_client_verify(a, key, "Chat")))
    assert.is_nil((core.ws_client_verify(answer({ [5] = "Sec-WebSocket-Protocol: chat, superchat" }), key,
      "chat, superchat")))
    assert.is_nil((core.ws_client_verify(answer({ [5] = "Sec-WebSocket-Protocol: chat",
      [6] = "Sec-WebSocket-Protocol: chat" }), key, "chat")))
  end)

  it("refuses any other status, a missing upgrade, a wrong or second accept, and extensions", function()
    local cases = {
      { { [1] = "HTTP/1.1 200 OK" }, "did not switch" },
      { { [1] = "HTTP/1.1 426 Upgrade Required" }, "did not switch" },
      { { [2] = false }, "no WebSocket upgrade" },
      { { [2] = "Upgrade: h2c" }, "no WebSocket upgrade" },
      { { [3] = false }, "no WebSocket upgrade" },
      { { [4] = false }, "Accept" },
      { { [4] = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo" }, "Accept" },
      { { [5] = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" }, "Accept" },
      { { [5] = "Sec-WebSocket-Extensions: permessage-deflate" }, "extension" },
    }
    for _, c in ipairs(cases) do
      local ok, why = core.ws_client_verify(answer(c[1]), key)
      assert.is_nil(ok)
      assert.matches(c[2], why)
    end
    assert.same({ nil, "not an HTTP response head" }, { core.ws_client_verify("HTTP/1.1 101 Switching", key) })
    assert.same({ nil, "not an HTTP response head" }, { core.ws_client_verify("SSH-2.0-x\r\n\r\n", key) })
    assert.is_nil((core.ws_client_verify(answer(), "AAAAAAAAAAAAAAAAAAAAAA==")))
  end)
end)
