-- The engine over tcp with mutual TLS, as remote users reach it.
local dockerpty = require "dockerpty"
local helpers = require "helpers"

describe("TLS to the engine #engine", function()
  local tls = helpers.tls

  it("works with the right CA and client certificate", function()
    local c = helpers.engine { host = helpers.tls_host, tls_verify = true, cert_path = tls .. "/client" }
    assert.is_table(assert(c:version()))
    assert.equal(1, c:connections())
    c:close()
  end)

  it("works from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", function()
    local out, status = helpers.run_lua([[
      local c = assert(require("dockerpty").client())
      print(c.endpoint, assert(c:ping()), assert(c:info()).ID ~= nil)]], {
      DOCKER_HOST = "tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = tls .. "/client",
    })
    assert.equal(0, status, out)
    assert.equal("tcp://127.0.0.1:2376\ttrue\ttrue\n", out)
  end)

  it("refuses an engine whose certificate the CA did not sign", function()
    local c = assert(dockerpty.client { host = helpers.tls_host, tls_verify = true, cert_path = tls .. "/other" })
    local ok, err, code = c:ping()
    assert.is_nil(ok)
    assert.equal("tls", code)
    assert.matches("^TLS with tcp://127%.0%.0%.1:2376 failed: .*certificate", err)
  end)

  it("says so when the engine refuses the missing client certificate", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir -p " .. dir .. " && cp " .. tls .. "/client/ca.pem " .. dir .. "/"))
    local c = assert(dockerpty.client { host = helpers.tls_host, tls_verify = true, cert_path = dir })
    local ok, err, code = c:ping()
    os.execute("rm -rf " .. dir)
    assert.is_nil(ok)
    assert.equal("tls", code)
    assert.matches("^TLS with tcp://127%.0%.0%.1:2376 failed: the engine refused the connection "
      .. "without a client certificate", err)
  end)

  it("says so when the engine refuses a client certificate from another CA", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute(("mkdir -p %s && cp %s/client/ca.pem %s/ && cp %s/other/cert.pem %s/other/key.pem %s/")
      :format(dir, tls, dir, tls, tls, dir)))
    local c = assert(dockerpty.client { host = helpers.tls_host, tls_verify = true, cert_path = dir })
    local ok, err, code = c:ping()
    os.execute("rm -rf " .. dir)
    assert.is_nil(ok)
    assert.equal("tls", code)
    assert.matches("the engine refused the client certificate", err)
  end)

  it("does not fall back to plain HTTP on the TLS port", function()
    local c = assert(dockerpty.client { host = helpers.tls_host, tls_verify = false })
    local ok, err, code = c:ping()
    assert.is_nil(ok)
    assert.equal(400, code)
    assert.equal("Client sent an HTTP request to an HTTPS server.", err)
  end)
end)
