-- The engine over tcp with mutual TLS, as remote users reach it.
local dockerpty = require "dockerpty"
local helpers = require "helpers"
local unpack = table.unpack or unpack

describe("TLS to the engine #engine", function()
  local tls = helpers.tls

  it("works with the right CA and client certificate", function()
    local c = helpers.engine { host = helpers.tls_host, tls_verify = true, cert_path = tls .. "/client" }
    assert.is_table(assert(c:version()))
    assert.equal(1, c:connections())
    c:close()
  end)

  it("works from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, never through a proxy", function()
    local out, status = helpers.run_lua([[
      local c = assert(require("dockerpty").client())
      print(c.endpoint, assert(c:ping()), assert(c:info()).ID ~= nil)]], {
      DOCKER_HOST = "tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = tls .. "/client",
      -- the engine is reached directly, as docker reaches it for attach and exec
      https_proxy = "http://127.0.0.1:9", HTTPS_PROXY = "http://127.0.0.1:9", ALL_PROXY = "http://127.0.0.1:9",
    })
    assert.equal(0, status, out)
    assert.equal("tcp://127.0.0.1:2376\ttrue\ttrue\n", out)
  end)

  it("works through a context that docker context create made, as docker --context does", function()
    local config, client = os.tmpname(), tls .. "/client"
    os.remove(config)
    assert(helpers.execute("mkdir -p " .. config))
    assert(helpers.execute(("DOCKER_CONFIG=%s docker context create remote --docker "
      .. "'host=tcp://127.0.0.1:2376,ca=%s/ca.pem,cert=%s/cert.pem,key=%s/key.pem' >/dev/null")
      :format(config, client, client, client)))
    local env = { DOCKER_CONFIG = config, DOCKER_HOST = "", DOCKER_CONTEXT = "remote" }
    local run = { "run", "--rm", "-l", helpers.label, "busybox", "echo", "over-tls" }
    assert.same({ "over-tls\n", "", 0 }, { helpers.dockerpty(run, { env = env }) })
    -- docker context use: the current context, from the config file
    assert(helpers.execute(("DOCKER_CONFIG=%s docker context use remote >/dev/null 2>&1"):format(config)))
    env.DOCKER_CONTEXT = ""
    assert.same({ "over-tls\n", "", 0 }, { helpers.dockerpty(run, { env = env }) })
    -- -c names one; -c with -H is refused, as docker refuses it
    local c_run = { "-c", "remote", unpack(run) }
    assert.same({ "over-tls\n", "", 0 }, { helpers.dockerpty(c_run, { env = { DOCKER_CONFIG = config } }) })
    local out, err, status = helpers.dockerpty({ "-H", "unix:///x", unpack(c_run) }, { env = { DOCKER_CONFIG = config } })
    assert.same({ "", "dockerpty: conflicting options: cannot give both a host and a context\n", 125 },
      { out, err, status })
    out, err, status = helpers.dockerpty({ "-c", "nope", "ps" }, { env = { DOCKER_CONFIG = config } })
    assert.same({ "", 125 }, { out, status })
    assert.matches('^dockerpty: context "nope" does not exist %(no [^\n]+/meta%.json%)\n$', err)
    helpers.execute("rm -rf " .. config)
  end)

  it("refuses a key encrypted with a pass phrase in one line, asking for nothing on the terminal", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute(("mkdir -p %s && cp %s/client/ca.pem %s/client/cert.pem %s/ && "
      .. "openssl pkey -in %s/client/key.pem -aes256 -passout pass:secret -out %s/key.pem"):format(dir, tls, tls, dir, tls, dir)))
    -- on a terminal, where OpenSSL would ask for the pass phrase and wait
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "ps" }, { env = {
      DOCKER_HOST = helpers.tls_host, DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = dir } })
    local line = t:expect("(dockerpty: [^\r\n]*)\r?\n")
    assert.same({ "exit", 125 }, { t:wait() })
    t:close()
    helpers.execute("rm -rf " .. dir)
    local want = "dockerpty: TLS with tcp://127.0.0.1:2376 failed: cannot use the key " .. dir .. "/key.pem: not "
      .. "the private key of cert.pem, or encrypted with a pass phrase (dockerpty takes none; openssl pkey -in it "
      .. "-out a new file decrypts it): "
    assert.equal(want, line:sub(1, #want))
    assert.matches("private key", line:sub(#want + 1)) -- libcurl's own words
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
