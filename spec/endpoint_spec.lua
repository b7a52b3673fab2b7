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

  it("reads what docker reads as a default: host:port is tcp, no host is localhost, unix:// the socket", function()
    assert.same({ scheme = "http", given = "tcp", host = "localhost", port = 2375 }, endpoint.parse("localhost:2375"))
    assert.same({ scheme = "http", given = "tcp", host = "127.0.0.1", port = 2375 }, endpoint.parse("127.0.0.1"))
    assert.same({ scheme = "https", given = "tcp", host = "localhost", port = 2376 }, endpoint.parse("tcp://:2376", true))
    assert.same({ scheme = "unix", path = "/var/run/docker.sock" }, endpoint.parse("unix://"))
  end)

  it("refuses malformed hosts with a message naming the host and the cause", function()
    local cases = {
      { "/var/run/docker.sock", "expected unix:///path" },
      { "docker.sock/x", "expected unix:///path" },
      { "unix://relative.sock", "absolute path" },
      { "tcp://", "no host name" },
      { "tcp://host:2375/prefix", "a path after the host and port is not supported" },
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
    assert.equal("open " .. dir .. "/ca.pem: no such file or directory", err)
    -- there but not readable: said so, not taken for missing
    assert(helpers.execute("mkdir " .. dir .. "/ca.pem && touch " .. dir .. "/cert.pem && mkdir " .. dir .. "/key.pem"))
    _, err = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true, cert_path = dir }, env {})
    assert.matches("^cannot read " .. dir:gsub("%p", "%%%0") .. "/ca%.pem: ", err)
    assert(helpers.execute("rmdir " .. dir .. "/ca.pem && touch " .. dir .. "/ca.pem"))
    _, err = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true, cert_path = dir }, env {})
    assert.matches("^cannot read " .. dir:gsub("%p", "%%%0") .. "/key%.pem: ", err)
    assert(helpers.execute("rm -r " .. dir))
  end)

  it("takes TLS with no host as tcp://localhost:2376, and refuses TLS that is not verified", function()
    local certs = os.tmpname()
    os.remove(certs)
    assert(helpers.execute("mkdir -p " .. certs .. " && touch " .. certs .. "/ca.pem"))
    local t = endpoint.resolve({}, env { DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = certs })
    assert(helpers.execute("rm -r " .. certs))
    assert.equal("https://localhost:2376", t.base)
    local _, err, code = endpoint.resolve({}, env { DOCKER_TLS = "1", DOCKER_HOST = "tcp://127.0.0.1" })
    assert.equal("config", code)
    assert.equal("DOCKER_TLS asks for TLS without verifying the engine, which dockerpty never does: "
      .. "set DOCKER_TLS_VERIFY=1", err)
    -- where TLS does not apply, it is nothing, as in docker
    t = endpoint.resolve({}, env { DOCKER_TLS = "1" })
    assert.equal("unix:///var/run/docker.sock", t.endpoint)
  end)

  it("looks in ~/.docker when no cert path is given, and names the CA file it lacks", function()
    local home = os.tmpname()
    os.remove(home)
    assert(helpers.execute("mkdir -p " .. home .. "/.docker && touch " .. home .. "/.docker/ca.pem"))
    local t = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true }, env { HOME = home })
    assert.equal("https://127.0.0.1:2376", t.base)
    assert.equal(home .. "/.docker/ca.pem", t.ca_file)
    assert(helpers.execute("rm -r " .. home))
    local none, err, code = endpoint.resolve({ host = "tcp://127.0.0.1", tls_verify = true },
      env { HOME = "/nonexistent-home" })
    assert.same({ nil, "open /nonexistent-home/.docker/ca.pem: no such file or directory", "config" }, { none, err, code })
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

-- A context as `docker context create` stores it, under a DOCKER_CONFIG of its own.
local function make_context(config, name, host, tls_from)
  local core = require "dockerpty.core"
  local digest = core.sha256(name)
  local meta = config .. "/contexts/meta/" .. digest
  assert(helpers.execute("mkdir -p " .. meta))
  local f = assert(io.open(meta .. "/meta.json", "w"))
  f:write(core.json_encode { Name = name, Metadata = {}, Endpoints = { docker = { Host = host, SkipTLSVerify = false } } })
  f:close()
  if tls_from then
    local tls = config .. "/contexts/tls/" .. digest .. "/docker"
    assert(helpers.execute(("mkdir -p %s && cp %s/ca.pem %s/cert.pem %s/key.pem %s/"):format(tls, tls_from, tls_from,
      tls_from, tls)))
  end
end

describe("endpoint contexts", function()
  local config
  before_each(function()
    config = os.tmpname()
    os.remove(config)
    assert(helpers.execute("mkdir -p " .. config))
  end)
  after_each(function() helpers.execute("rm -rf " .. config) end)

  it("take DOCKER_CONTEXT, else the current context, after -H and DOCKER_HOST, as docker does", function()
    make_context(config, "other", "unix:///run/other.sock")
    local t = endpoint.resolve({}, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "other" })
    assert.equal("unix:///run/other.sock", t.endpoint)
    assert.equal("other", t.context)
    local f = assert(io.open(config .. "/config.json", "w"))
    f:write('{"auths": {}, "currentContext": "other"}')
    f:close()
    t = endpoint.resolve({}, env { DOCKER_CONFIG = config })
    assert.equal("unix:///run/other.sock", t.endpoint)
    t = endpoint.resolve({}, env { DOCKER_CONFIG = config, DOCKER_HOST = "unix:///run/env.sock" })
    assert.equal("unix:///run/env.sock", t.endpoint)
    t = endpoint.resolve({ host = "unix:///run/flag.sock" }, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "other" })
    assert.equal("unix:///run/flag.sock", t.endpoint)
    t = endpoint.resolve({}, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "default" })
    assert.equal("unix:///var/run/docker.sock", t.endpoint)
    -- the default context is the environment's engine, even when named
    t = endpoint.resolve({ context = "default" }, env { DOCKER_CONFIG = config, DOCKER_HOST = "unix:///run/env.sock" })
    assert.equal("unix:///run/env.sock", t.endpoint)
    t = endpoint.resolve({ context = "other" }, env { DOCKER_CONFIG = config, DOCKER_HOST = "unix:///run/env.sock" })
    assert.equal("unix:///run/other.sock", t.endpoint)
    local _, err, code = endpoint.resolve({ context = "other", host = "unix:///x" }, env { DOCKER_CONFIG = config })
    assert.same({ "conflicting options: cannot give both a host and a context", "config" }, { err, code })
  end)

  it("use a context's own TLS files, verified", function()
    make_context(config, "remote", "tcp://127.0.0.1:2376", helpers.tls .. "/client")
    local t = endpoint.resolve({}, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "remote" })
    local dir = config .. "/contexts/tls/" .. require("dockerpty.core").sha256("remote") .. "/docker"
    assert.equal("https://127.0.0.1:2376", t.base)
    assert.same({ dir .. "/ca.pem", dir .. "/cert.pem", dir .. "/key.pem" }, { t.ca_file, t.cert_file, t.key_file })
  end)

  it("refuse tls_verify for a context with no TLS files, rather than speak plain HTTP", function()
    make_context(config, "plain", "tcp://127.0.0.1:2376")
    local t, err, code = endpoint.resolve({ tls_verify = true }, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "plain" })
    assert.is_nil(t)
    assert.equal("config", code)
    assert.equal(('tls_verify is set, but context "plain" has no TLS files (no ca.pem or cert.pem in %s/contexts/tls/%s/docker)')
      :format(config, require("dockerpty.core").sha256("plain")), err)
    t, err = endpoint.resolve({ context = "plain", tls_verify = true }, env { DOCKER_CONFIG = config })
    assert.is_nil(t)
    assert.matches('^tls_verify is set, but context "plain" has no TLS files', err)
    -- as docker: DOCKER_TLS_VERIFY is the environment's, and a context's TLS is its own
    t = assert(endpoint.resolve({}, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "plain", DOCKER_TLS_VERIFY = "1" }))
    assert.equal("http://127.0.0.1:2376", t.base)
    make_context(config, "remote", "tcp://127.0.0.1:2376", helpers.tls .. "/client")
    t = assert(endpoint.resolve({ tls_verify = true }, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "remote" }))
    assert.equal("https://127.0.0.1:2376", t.base)
  end)

  it("read config.json and a context's meta.json up to 1 MiB, and name one that is larger", function()
    local function write(path, text)
      local f = assert(io.open(path, "wb"))
      f:write(text)
      f:close()
    end
    local big = '{"currentContext": "plain", "pad": "' .. string.rep("x", endpoint.FILE_MAX) .. '"}'
    write(config .. "/config.json", big)
    local doc, err = endpoint.read_config(env { DOCKER_CONFIG = config })
    assert.is_nil(doc)
    assert.equal(("%s/config.json is larger than 1048576 bytes, more than a docker CLI file holds"):format(config), err)
    -- what fits is read, however close to the bound
    local fits = '{"currentContext": "plain"}' .. string.rep(" ", endpoint.FILE_MAX - 27)
    write(config .. "/config.json", fits)
    assert.equal("plain", assert(endpoint.read_config(env { DOCKER_CONFIG = config })).currentContext)
    make_context(config, "plain", "unix:///run/plain.sock")
    local meta = config .. "/contexts/meta/" .. require("dockerpty.core").sha256("plain") .. "/meta.json"
    write(meta, '{"Name":"plain","Endpoints":{"docker":{"Host":"unix:///run/plain.sock"}}}' .. string.rep(" ", endpoint.FILE_MAX))
    local t, code
    t, err, code = endpoint.resolve({}, env { DOCKER_CONFIG = config })
    assert.is_nil(t)
    assert.equal("config", code)
    assert.equal(('context "plain": %s is larger than 1048576 bytes, more than a docker CLI file holds'):format(meta), err)
  end)

  it("say which context is missing or unusable", function()
    local _, err, code = endpoint.resolve({}, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "nope" })
    assert.equal("config", code)
    assert.equal(('context "nope" does not exist (no %s/contexts/meta/%s/meta.json)')
      :format(config, require("dockerpty.core").sha256("nope")), err)
    make_context(config, "skip", "tcp://127.0.0.1:2376")
    local meta = config .. "/contexts/meta/" .. require("dockerpty.core").sha256("skip") .. "/meta.json"
    local f = assert(io.open(meta, "w"))
    f:write('{"Name":"skip","Endpoints":{"docker":{"Host":"tcp://127.0.0.1:2376","SkipTLSVerify":true}}}')
    f:close()
    _, err = endpoint.resolve({}, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "skip" })
    assert.equal('context "skip" skips TLS verification, which dockerpty never does', err)
    f = assert(io.open(meta, "w"))
    f:write('{"Name":"skip","Endpoints":{}}')
    f:close()
    _, err = endpoint.resolve({}, env { DOCKER_CONFIG = config, DOCKER_CONTEXT = "skip" })
    assert.equal(('context "skip" has no docker endpoint in %s'):format(meta), err)
  end)
end)
