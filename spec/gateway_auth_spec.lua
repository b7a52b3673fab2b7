-- Where the gateway finds a request's credential (Authorization, the k8s-style subprotocol
-- entry, the cookie), base64url, and the browser sessions the cookie names.
local auth = require "dockerpty.gateway.auth"
local base64url = require "dockerpty.gateway.base64url"
local sessions = require "dockerpty.gateway.sessions"

local TOKEN = "correct-horse-battery-staple"
local ENTRY = auth.BEARER_PREFIX .. base64url.encode(TOKEN)

describe("gateway base64url", function()
  it("encodes and decodes without padding, one encoding per string", function()
    local vectors = { [""] = "", f = "Zg", fo = "Zm8", foo = "Zm9v", foob = "Zm9vYg", fooba = "Zm9vYmE",
      foobar = "Zm9vYmFy", ["\255\254\253"] = "__79", ["\251"] = "-w" }
    for raw, enc in pairs(vectors) do
      assert.equal(enc, base64url.encode(raw))
      assert.equal(raw, base64url.decode(enc))
    end
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    assert.equal(all, base64url.decode(base64url.encode(all)))
    -- padding, a lone character, other alphabets, bits left over past the last byte ("fo" is Zm8)
    for _, bad in ipairs { "Zg==", "Z", "Zh", "Zm9", "Zm+v", "Zm/v", "Zm9v!" } do
      assert.is_nil(base64url.decode(bad), bad)
    end
  end)
end)

describe("gateway credentials", function()
  it("reads Authorization: Bearer, the scheme in any case", function()
    assert.equal(TOKEN, auth.bearer("Bearer " .. TOKEN))
    assert.equal(TOKEN, auth.bearer("bearer  " .. TOKEN .. " "))
    assert.is_nil(auth.bearer("Basic " .. TOKEN))
    assert.is_nil(auth.bearer("Bearer"))
    assert.is_nil(auth.bearer("Bearer a b"))
    assert.is_nil(auth.bearer(nil))
  end)

  it("reads the bearer subprotocol entry as Kubernetes sends it, and keeps it out of the offer", function()
    local token, offered, bad = auth.subprotocols { auth.PROTOCOL, ENTRY }
    assert.equal(TOKEN, token)
    assert.same({ auth.PROTOCOL }, offered)
    assert.is_false(bad)
    token, offered = auth.subprotocols(ENTRY .. ", v4.channel.k8s.io ,v5.channel.k8s.io")
    assert.equal(TOKEN, token)
    assert.same({ "v4.channel.k8s.io", "v5.channel.k8s.io" }, offered)
    assert.equal("v5.channel.k8s.io", auth.choose(offered))
    assert.is_nil(auth.choose { "v4.channel.k8s.io", "base64.channel.k8s.io" })
    assert.same({ nil, { auth.PROTOCOL }, false }, { auth.subprotocols { auth.PROTOCOL } })
    assert.same({ nil, {}, true }, { auth.subprotocols { auth.BEARER_PREFIX .. "!!" } })
    assert.same({ nil, {}, true }, { auth.subprotocols { auth.BEARER_PREFIX } })
    assert.same({ nil, {}, true }, { auth.subprotocols { ENTRY, ENTRY } })
  end)

  it("reads a cookie's values by name", function()
    assert.same({ "abc" }, auth.cookies("a=1; dockerpty=abc; b=2", "dockerpty"))
    assert.same({ "x", "y" }, auth.cookies('dockerpty=x;dockerpty="y"', "dockerpty"))
    assert.same({}, auth.cookies("xdockerpty=1; dockerpty2=3", "dockerpty"))
    assert.same({}, auth.cookies(nil, "dockerpty"))
  end)

  it("takes a credential from one place, a bearer before the browser's cookie", function()
    assert.same({ from = "authorization", token = TOKEN }, auth.credential({ authorization = "Bearer " .. TOKEN }, "dockerpty"))
    assert.same({ from = "subprotocol", token = TOKEN }, auth.credential({ protocols = { auth.PROTOCOL, ENTRY } }, "dockerpty"))
    assert.same({ from = "cookie", token = { "id" } }, auth.credential({ cookie = "dockerpty=id" }, "dockerpty"))
    assert.same({ from = "subprotocol", token = TOKEN },
      auth.credential({ protocols = { ENTRY }, cookie = "dockerpty=id" }, "dockerpty"))
    assert.is_nil(auth.credential({ authorization = "Bearer " .. TOKEN, protocols = { ENTRY } }, "dockerpty"))
    assert.is_nil(auth.credential({ authorization = "Basic eDp5", cookie = "dockerpty=id" }, "dockerpty"))
    assert.is_nil(auth.credential({ protocols = { auth.BEARER_PREFIX .. "%%" }, cookie = "dockerpty=id" }, "dockerpty"))
    assert.is_nil(auth.credential({}, "dockerpty"))
    assert.is_nil(auth.credential({ cookie = "other=1" }, "dockerpty"))
  end)
end)

describe("gateway sessions", function()
  local clock
  local function store(max)
    clock = 1000
    return sessions.new { max = max, ttl = 60, now = function() return clock end }
  end

  it("maps a random cookie to its token's name until it expires", function()
    local s = store(10)
    local id = s:create("alice")
    assert.equal(43, #id)
    assert.truthy(id:match("^[%w_-]+$"))
    assert.not_equal(id, s:create("alice"))
    assert.equal("alice", s:lookup(id))
    assert.is_nil(s:lookup(id:sub(1, -2) .. (id:sub(-1) == "A" and "B" or "A")))
    assert.is_nil(s:lookup(nil))
    assert.is_nil(s:lookup(""))
    clock = 1059
    assert.equal("alice", s:lookup(id))
    clock = 1060
    assert.is_nil(s:lookup(id))
    assert.equal(1, s:count())
  end)

  it("stays within its bound, the session nearest its end giving way", function()
    local s = store(3)
    local a = s:create("a"); clock = clock + 1
    local b = s:create("b"); clock = clock + 1
    local c = s:create("c"); clock = clock + 1
    local d = s:create("d")
    assert.equal(3, s:count())
    assert.is_nil(s:lookup(a))
    assert.equal("b", s:lookup(b))
    assert.equal("c", s:lookup(c))
    assert.equal("d", s:lookup(d))
    for i = 1, 100 do s:create("n" .. i) end
    assert.equal(3, s:count())
  end)

  it("ends a session, and every session of a token", function()
    local s = store(10)
    local a1, a2, b = s:create("a"), s:create("a"), s:create("b")
    s:remove(a1)
    assert.is_nil(s:lookup(a1))
    assert.equal("a", s:lookup(a2))
    s:revoke("a")
    assert.is_nil(s:lookup(a2))
    assert.equal("b", s:lookup(b))
    assert.equal(1, s:count())
  end)

  it("writes the Set-Cookie header: HttpOnly, SameSite=Strict, Path=/, Secure and __Host- with TLS", function()
    assert.equal("dockerpty=ID; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200", sessions.set_cookie("ID", false, 43200))
    assert.equal("__Host-dockerpty=ID; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure", sessions.set_cookie("ID", true, 60))
    assert.equal("dockerpty=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", sessions.set_cookie("", false, 0))
    assert.equal("__Host-dockerpty", sessions.cookie_name(true))
  end)
end)
