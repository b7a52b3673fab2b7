-- dockerpty serve's flags, read by flags.parse and checked: what a network address needs,
-- files, limits, durations, the address printed.
local flags = require "dockerpty.flags"
local options = require "dockerpty.gateway.options"

local CERT = os.tmpname()
local KEY = os.tmpname()

local function serve(argv)
  local v, rest = flags.parse(argv, options.flags, options.command.interspersed)
  assert(v, rest)
  return options.validate(v)
end

describe("gateway options", function()
  teardown(function() os.remove(CERT); os.remove(KEY) end)

  it("listens on loopback by default, one session cap, an hour's idle timeout", function()
    local s = assert(serve {})
    assert.same({ kind = "tcp", host = "127.0.0.1", port = 8022, loopback = true, address = "127.0.0.1:8022" }, s.listen)
    assert.is_nil(s.tls)
    assert.is_nil(s.tokens)
    assert.same({}, s.origins)
    assert.equal(1000, s.max_sessions)
    assert.is_nil(s.max_sessions_per_token)
    assert.equal(3600, s.idle_timeout)
    assert.is_false(s.insecure)
  end)

  it("reads HOST:PORT, [IPv6]:PORT, :PORT and unix:PATH", function()
    assert.same({ kind = "tcp", host = "::1", port = 9000, loopback = true, address = "[::1]:9000" }, options.listen("[::1]:9000"))
    assert.same({ kind = "tcp", host = "::1", port = 9000, loopback = true, address = "[::1]:9000" }, options.listen("[0:0::1]:9000"))
    assert.same({ kind = "tcp", host = "localhost", port = 0, loopback = true, address = "localhost:0" }, options.listen("LocalHost:0"))
    assert.same({ kind = "tcp", host = "127.5.6.7", port = 1, loopback = true, address = "127.5.6.7:1" }, options.listen("127.5.6.7:1"))
    assert.same({ kind = "tcp", host = "0.0.0.0", port = 8022, loopback = false, address = "0.0.0.0:8022" }, options.listen(":8022"))
    assert.same({ kind = "tcp", host = "gw.example.com", port = 443, loopback = false, address = "gw.example.com:443" }, options.listen("gw.example.com:443"))
    assert.same({ kind = "unix", path = "/run/dp.sock", address = "unix:/run/dp.sock" }, options.listen("unix:/run/dp.sock"))
    for _, c in ipairs {
      { "8022", "expected HOST:PORT or unix:PATH" },
      { "host:", "expected HOST:PORT or unix:PATH" },
      { "::1:8022", "expected HOST:PORT or unix:PATH" },
      { "[::g]:1", "expected [IPv6]:PORT" },
      { "a:65536", "the port is 0 to 65535" },
      { "unix:", "expected unix:PATH" },
      { "unix:/" .. ("x"):rep(107), "a socket's path is at most 107 bytes" },
    } do
      assert.same({ nil, ('invalid --listen "%s": %s'):format(c[1], c[2]) }, { options.listen(c[1]) })
    end
  end)

  it("refuses a network address without TLS or without tokens, and says which flag allows it", function()
    local _, err = serve { "--listen", "0.0.0.0:8022" }
    assert.equal("refusing to listen on 0.0.0.0:8022 without TLS: tokens and terminals would cross the network in clear"
      .. " (give --tls-cert and --tls-key, or --insecure-listen to allow it)", err)
    _, err = serve { "--listen", "[2001:db8::1]:8022", "--tls-cert", CERT, "--tls-key", KEY }
    assert.equal("refusing to listen on [2001:db8::1]:8022 without --tokens: the one token made at start would reach"
      .. " every container (give --tokens FILE, or --insecure-listen to allow it)", err)
    local s = assert(serve { "--listen", ":8022", "--tls-cert", CERT, "--tls-key", KEY, "--tokens", CERT })
    assert.same({ cert = CERT, key = KEY }, s.tls)
    assert.equal(CERT, s.tokens)
    s = assert(serve { "--listen", "0.0.0.0:8022", "--insecure-listen" })
    assert.is_true(s.insecure)
    assert.equal("unix", assert(serve { "--listen", "unix:/tmp/x.sock" }).listen.kind)
  end)

  it("refuses TLS flags that do not go together, and files it cannot read", function()
    local cases = {
      { { "--tls-cert", CERT }, "--tls-cert needs --tls-key, the certificate's private key" },
      { { "--tls-key", KEY }, "--tls-key needs --tls-cert, the certificate it is the key of" },
      { { "--tls-client-ca", CERT }, "--tls-client-ca needs --tls-cert and --tls-key: a client certificate is asked for in a TLS handshake" },
      { { "--listen", "unix:/tmp/x", "--tls-cert", CERT, "--tls-key", KEY }, "--tls-cert: a unix socket listener serves no TLS" },
      { { "--tls-cert", "/nonexistent/c.pem", "--tls-key", KEY }, "--tls-cert: cannot read /nonexistent/c.pem: No such file or directory" },
      { { "--tls-cert", CERT, "--tls-key", KEY, "--tls-client-ca", "/nonexistent/ca" }, "--tls-client-ca: cannot read /nonexistent/ca: No such file or directory" },
      { { "--tokens", "/nonexistent/t.json" }, "--tokens: cannot read /nonexistent/t.json: No such file or directory" },
      { { "--tokens", "/" }, "--tokens: cannot read /: Is a directory" },
      { { "--tokens", "" }, "--tokens: expected a file" },
    }
    for _, c in ipairs(cases) do
      assert.same({ nil, c[2] }, { serve(c[1]) })
    end
    local s = assert(serve { "--tls-cert", CERT, "--tls-key", KEY, "--tls-client-ca", CERT })
    assert.same({ cert = CERT, key = KEY, client_ca = CERT }, s.tls)
  end)

  it("reads limits, durations and origins, refusing what makes no sense", function()
    local s = assert(serve { "--max-sessions", "5", "--max-sessions-per-token=2", "--idle-timeout", "1h30m",
      "--origin", "https://a.example.com", "--origin", "https://*.b.example.com" })
    assert.equal(5, s.max_sessions)
    assert.equal(2, s.max_sessions_per_token)
    assert.equal(5400, s.idle_timeout)
    assert.equal(2, #s.origins)
    assert.equal(0, assert(serve { "--idle-timeout", "0" }).idle_timeout)
    assert.equal(30, options.duration("30s"))
    assert.equal(900, options.duration("15m"))
    assert.equal(1.5, options.duration("1500ms"))
    assert.equal(5400, options.duration("1.5h"))
    for _, bad in ipairs { "", "10", "-1s", "1d", "1h ", "s" } do assert.is_nil(options.duration(bad), bad) end
    assert.same({ nil, 'invalid --max-sessions "0": expected 1 or more' }, { serve { "--max-sessions", "0" } })
    assert.same({ nil, 'invalid --max-sessions-per-token "-1": expected 1 or more' }, { serve { "--max-sessions-per-token", "-1" } })
    assert.same({ nil, 'invalid --idle-timeout "10": expected a duration as 30s, 15m or 1h, or 0 for none' },
      { serve { "--idle-timeout", "10" } })
    assert.same({ nil, 'invalid --idle-timeout "10ms": at least 1s, or 0 for none' }, { serve { "--idle-timeout", "10ms" } })
    assert.same({ nil, '--origin "*": expected an origin, as https://app.example.com or https://*.example.com' },
      { serve { "--origin", "*" } })
    local v, err = flags.parse({ "--max-sessions", "x" }, options.flags, true)
    assert.is_nil(v)
    assert.equal('invalid argument "x" for "--max-sessions" flag: expected a whole number', err)
    assert.same({ nil, "unknown flag: --bogus" }, { flags.parse({ "--bogus" }, options.flags, true) })
  end)

  it("prints the address to open with the token in its fragment", function()
    local t = "tok_en-1"
    assert.equal("http://127.0.0.1:8022/#token=tok_en-1", options.url(assert(serve {}), t))
    assert.equal("http://127.0.0.1:40123/#token=tok_en-1", options.url(assert(serve { "--listen", "127.0.0.1:0" }), t, 40123))
    assert.equal("https://127.0.0.1:8022/#token=tok_en-1",
      options.url(assert(serve { "--tls-cert", CERT, "--tls-key", KEY }), t))
    assert.equal("http://[::1]:8022/#token=tok_en-1", options.url(assert(serve { "--listen", "[::1]:8022" }), t))
    assert.equal("http://127.0.0.1:8022/#token=tok_en-1",
      options.url(assert(serve { "--listen", ":8022", "--insecure-listen" }), t))
    assert.is_nil(options.url(assert(serve { "--listen", "unix:/tmp/x.sock" }), t))
  end)

  it("gives help lines in the commands' form", function()
    local help = flags.help(options.flags)
    assert.truthy(help:find("--listen HOST:PORT|unix:PATH", 1, true))
    assert.truthy(help:find("--insecure-listen", 1, true))
    assert.equal("dockerpty serve [OPTIONS]", options.command.usage)
  end)
end)
