-- Reading DOCKER_HOST and friends: a pure part, tested without an engine.
local endpoint = require "dockerpty.endpoint"
local helpers = require "helpers"

local function env(t)
  return function(name) return t[name] end
end

describe("endpoint.parse", function()
  it("reads unix sockets", function()
    assert.same({ scheme = "unix", path = "/var/run/docker.sock" },
      endpoint.parse("unix:///var/run/docker.sock"))
  end)

  it("reads tcp hosts, with docker's default ports", function()
    assert.same({ scheme = "http", given = "tcp", host = "127.0.0.1", port = 2375 },
      endpoint.parse("tcp://127.0.0.1"))
    assert.same({ scheme = "https", given = "tcp", host = "127.0.0.1", port = 2376 },
      endpoint.parse("tcp://127.0.0.1", true))
    assert.same({ scheme = "https", given = "tcp", host = "example.test", port = 3000 },
      endpoint.parse("tcp://example.test:3000/", true))
    assert.same({ scheme = "http", given = "tcp", host = "[::1]", port = 2375 },
      endpoint.parse("tcp://[::1]:2375"))
  end)

  it("refuses malformed hosts with a message naming the host and the cause", function()
    local cases = {
      { "localhost:2375", "expected unix:///path or tcp://host:port" },
      { "/var/run/docker.sock", "expected unix:///path" },
      { "unix://", "absolute path" },
      { "unix://relative.sock", "absolute path" },
      { "tcp://", "no host name" },
      { "tcp://:2375", "no host name" },
      { "tcp://host:port", "port must be a number" },
      { "tcp://host:0", "port must be a number" },
      { "tcp://host:70000", "port must be a number" },
      { "ssh://user@host", "the ssh scheme is not supported" },
      { "npipe:////./pipe/docker_engine", "the npipe scheme is not supported" },
    }
    for _, c in ipairs(cases) do
      local ep, err, code = endpoint.parse(c[1])
      assert.is_nil(ep, c[1])
      assert.equal("config", code)
      assert.equal(("invalid engine host %q: "):format(c[1]), err:sub(1, #c[1] + 24))
      assert.truthy(err:find(c[2], 1, true), err)
    end
  end)
end)

describe("endpoint.resolve", function()
  it("defaults to the local unix socket", function()
    local t = endpoint.resolve({}, env {})
    assert.equal("unix:///var/run/docker.sock", t.endpoint)
    assert.equal("/var/run/docker.sock", t.unix_socket)
    assert.equal("http://localhost", t.base)
  end)

  it("takes DOCKER_HOST and DOCKER_API_VERSION, and options over them", function()
    local t = endpoint.resolve({}, env { DOCKER_HOST = "tcp://127.0.0.9:2375", DOCKER_API_VERSION = "1.40" })
    assert.equal("http://127.0.0.9:2375", t.base)
    assert.equal("tcp://127.0.0.9:2375", t.endpoint)
    assert.equal("1.40", t.api_version)
    t = endpoint.resolve({ host = "unix:///run/other.sock", api_version = "1.41" },
      env { DOCKER_HOST = "tcp://127.0.0.9:2375", DOCKER_API_VERSION = "1.40" })
    assert.equal("/run/other.sock", t.unix_socket)
    assert.equal("1.41", t.api_version)
  end)

  it("treats an empty variable as unset, as docker does", function()
    local t = endpoint.resolve({}, env { DOCKER_HOST = "", DOCKER_TLS_VERIFY = "" })
    assert.equal("unix:///var/run/docker.sock", t.endpoint)
  end)

  it("uses TLS with the files in DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir -p " .. dir .. " && touch " .. dir .. "/ca.pem " .. dir .. "/cert.pem " .. dir .. "/key.pem"))
    local t = endpoint.resolve({}, env {
      DOCKER_HOST = "tcp://127.0.0.1", DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = dir })
    assert.equal("https://127.0.0.1:2376", t.base)
    assert.equal(dir .. "/ca.pem", t.ca_file)
    assert.equal(dir .. "/cert.pem", t.cert_file)
    assert.equal(dir .. "/key.pem", t.key_file)

    os.remove(dir .. "/key.pem")
    local _, err, code = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true, cert_path = dir }, env {})
    assert.equal("config", code)
    assert.equal(dir .. " has cert.pem but not key.pem", err)

    os.remove(dir .. "/cert.pem")
    os.remove(dir .. "/ca.pem")
    _, err = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true, cert_path = dir }, env {})
    assert.equal("cannot read " .. dir .. "/ca.pem: no such file or not readable", err)
    os.remove(dir)
  end)

  it("looks in ~/.docker when no cert path is given", function()
    local t = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true },
      env { HOME = "/nonexistent-home" })
    assert.equal("https://127.0.0.1:2376", t.base)
    assert.is_nil(t.ca_file)
  end)

  it("looks in $DOCKER_CONFIG before ~/.docker, as docker does", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir -p " .. dir .. " && touch " .. dir .. "/ca.pem"))
    local t = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true },
      env { HOME = "/nonexistent-home", DOCKER_CONFIG = dir })
    assert.equal(dir .. "/ca.pem", t.ca_file)
    t = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true },
      env { HOME = "/nonexistent-home", DOCKER_CONFIG = dir, DOCKER_CERT_PATH = "/nonexistent-certs" })
    assert.is_nil(t)
    os.remove(dir .. "/ca.pem")
    os.remove(dir)
  end)

  it("does not use TLS for a tcp host unless asked", function()
    local t = endpoint.resolve({ host = "tcp://127.0.0.1:2376" }, env {})
    assert.equal("http://127.0.0.1:2376", t.base)
    t = endpoint.resolve({ host = "tcp://127.0.0.1:2376", tls_verify = false }, env { DOCKER_TLS_VERIFY = "1" })
    assert.equal("http://127.0.0.1:2376", t.base)
  end)
end)
