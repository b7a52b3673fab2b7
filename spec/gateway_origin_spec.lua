-- The Origin check of a browser's upgrade: same origin as Host, --origin patterns, and what
-- is refused.
local origin = require "dockerpty.gateway.origin"

local function M(list) return assert(origin.compile(list)) end

describe("gateway origin", function()
  it("allows no Origin (not a browser) and refuses null and what is not an origin", function()
    assert.is_true(origin.check(nil, "127.0.0.1:8022", false, {}))
    assert.same({ false, "the null origin is not allowed" }, { origin.check("null", "127.0.0.1:8022", false, {}) })
    for _, o in ipairs { "", "127.0.0.1:8022", "ftp://a.b", "http://a.b/", "http://a.b:", "http://a.b:99999",
      "http://user@a.b", "http://[::1", "http://[fe80::1%25eth0]", "http://a b" } do
      local ok, why = origin.check(o, "a.b", false, {})
      assert.is_false(ok, o)
      assert.equal("the Origin header is not an origin", why)
    end
  end)

  it("allows the same origin as Host: the listener's scheme, default ports, any case", function()
    assert.is_true(origin.check("http://127.0.0.1:8022", "127.0.0.1:8022", false))
    assert.is_true(origin.check("HTTP://LocalHost:8022", "localhost:8022", false))
    assert.is_true(origin.check("https://gw.example.com", "GW.example.com:443", true))
    assert.is_true(origin.check("https://gw.example.com:443", "gw.example.com", true))
    assert.is_true(origin.check("http://gw.example.com", "gw.example.com:80", false))
    assert.is_false(origin.check("http://gw.example.com", "gw.example.com", true))
    assert.is_false(origin.check("https://gw.example.com", "gw.example.com", false))
    assert.is_false(origin.check("http://127.0.0.1:8023", "127.0.0.1:8022", false))
    assert.is_false(origin.check("http://evil.example", "127.0.0.1:8022", false))
    assert.same({ false, "origin http://evil.example is not allowed" },
      { origin.check("http://evil.example", "127.0.0.1:8022", false) })
    assert.is_false(origin.check("http://127.0.0.1:8022", nil, false))
  end)

  it("compares IPv6 literals in one form", function()
    assert.is_true(origin.check("http://[::1]:8022", "[0:0:0:0:0:0:0:1]:8022", false))
    assert.is_true(origin.check("http://[2001:DB8::1]", "[2001:db8:0:0::1]:80", false))
    assert.is_false(origin.check("http://[::1]:8022", "[::2]:8022", false))
    assert.equal("::1", origin.ipv6("0:0:0:0:0:0:0:1"))
    assert.equal("2001:db8::1:0:0:1", origin.ipv6("2001:0db8:0:0:1:0:0:1"))
    assert.equal("2001:db8:0:1:1:1:1:1", origin.ipv6("2001:db8:0:1:1:1:1:1"))
    assert.equal("::ffff:7f00:1", origin.ipv6("::ffff:127.0.0.1"))
    assert.equal("::", origin.ipv6("::"))
    assert.equal("1::", origin.ipv6("1::"))
    for _, bad in ipairs { "1:2:3", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1.2.3.256", "1:2:3:4:5:6:7::8", "g::" } do
      assert.is_nil(origin.ipv6(bad), bad)
    end
  end)

  it("allows --origin patterns: exact origins and *. on the host", function()
    local m = M { "https://app.example.com", "https://*.dev.example.com", "http://[::1]:3000", "http://localhost:5173" }
    assert.is_true(origin.check("https://app.example.com", "gw:8022", false, m))
    assert.is_true(origin.check("https://app.example.com:443", "gw:8022", false, m))
    assert.is_false(origin.check("http://app.example.com", "gw:8022", false, m))
    assert.is_false(origin.check("https://app.example.com:8443", "gw:8022", false, m))
    assert.is_true(origin.check("https://a.dev.example.com", "gw:8022", false, m))
    assert.is_true(origin.check("https://a.b.DEV.example.com", "gw:8022", false, m))
    assert.is_false(origin.check("https://dev.example.com", "gw:8022", false, m))
    assert.is_false(origin.check("https://evildev.example.com", "gw:8022", false, m))
    assert.is_false(origin.check("https://a.dev.example.com.evil", "gw:8022", false, m))
    assert.is_true(origin.check("http://[0::1]:3000", "gw:8022", false, m))
    assert.is_true(origin.check("http://localhost:5173", "gw:8022", false, m))
  end)

  it("refuses patterns that are not origins or would let any site in", function()
    for _, c in ipairs {
      { "*", "expected an origin" },
      { "example.com", "expected an origin" },
      { "ftp://example.com", "the scheme is http or https" },
      { "https://example.com/", "expected host[:port] after the scheme, and no path" },
      { "https://*", "expected host[:port]" },
      { "https://*.com", "a wildcard stands for the names below a domain with a dot in it" },
      { "https://a.*.com", "expected host[:port]" },
    } do
      local m, err = origin.compile { c[1] }
      assert.is_nil(m)
      assert.truthy(err:find('--origin "' .. c[1] .. '": ' .. c[2], 1, true), err)
    end
  end)
end)
