-- TLS that must fail, each with its cause named: a real TLS server (openssl s_server) showing
-- an expired certificate or one for another name. And a large stream over the engine's TLS.
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"
local helpers = require "helpers"

local function serve(cert, port)
  local p = assert(io.popen(("openssl s_server -quiet -accept 127.0.0.1:%d -cert %s -key %s/bad/key.pem "
    .. "-www >/dev/null 2>&1 & echo $!"):format(port, cert, helpers.tls)))
  local pid = p:read("*l")
  p:close()
  -- ready once the port takes connections
  for _ = 1, 100 do
    local c = dockerpty.client { host = ("tcp://127.0.0.1:%d"):format(port), tls_verify = false }
    local _, _, code = c:ping()
    c:close()
    if code ~= "connect" then break end
    core.sleep(0.05)
  end
  return pid
end

describe("TLS refusals #engine", function()
  local pids = {}
  teardown(function()
    for _, pid in ipairs(pids) do os.execute("kill " .. pid .. " 2>/dev/null") end
  end)

  local function try(cert, port)
    pids[#pids + 1] = serve(cert, port)
    local c = assert(dockerpty.client { host = ("tcp://127.0.0.1:%d"):format(port), tls_verify = true,
      cert_path = helpers.tls .. "/client" })
    local ok, err, code = c:ping()
    c:close()
    assert.is_nil(ok)
    assert.equal("tls", code)
    return err
  end

  it("names an expired certificate", function()
    core.sleep(1.1) -- made with no validity left: expired a second later at most
    local err = try(helpers.tls .. "/bad/expired.pem", 23761)
    assert.matches("^TLS with tcp://127%.0%.0%.1:23761 failed: .*expired", err)
  end)

  it("names a certificate for another host", function()
    local err = try(helpers.tls .. "/bad/wrong-name.pem", 23762)
    assert.matches("^TLS with tcp://127%.0%.0%.1:23762 failed: .*subject name matches target host name", err)
  end)

  it("never shows key material in a message", function()
    local err = try(helpers.tls .. "/bad/wrong-name.pem", 23763)
    assert.is_nil(err:find("PRIVATE KEY", 1, true))
    assert.is_nil(err:find("BEGIN", 1, true))
  end)
end)

describe("50 MB over the engine's TLS #engine #heavy", function()
  it("arrive byte-exact, and the end of stdin reaches the container", function()
    local c = helpers.engine { host = helpers.tls_host, tls_verify = true, cert_path = helpers.tls .. "/client" }
    local input = os.tmpname()
    assert(helpers.execute("head -c 52428800 /dev/urandom > " .. input))
    local sum = helpers.md5_file(input)
    local id = helpers.container(c, { Cmd = { "sh", "-c", "md5sum; cat /dev/zero | head -c 52428800 | md5sum" },
      OpenStdin = true, StdinOnce = true })
    local out = os.tmpname()
    local fin, fo = assert(io.open(input, "rb")), assert(io.open(out, "wb"))
    local t0 = core.monotime()
    assert.equal(0, dockerpty.start(c, id, { stdin = fin, stdout = fo }))
    fin:close()
    fo:close()
    local f = assert(io.open(out, "rb"))
    local text = f:read("*a")
    f:close()
    os.remove(input)
    os.remove(out)
    local lines = {}
    for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(sum .. "  -", lines[1])
    assert.equal("25e317773f308e446cc84c503a6d1f85  -", lines[2]) -- 50 MiB of zeros
    assert.is_true(core.monotime() - t0 < 60)
    helpers.cleanup(c)
    c:close()
  end)
end)
