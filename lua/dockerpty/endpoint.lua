-- Where the engine is and how to reach it: DOCKER_HOST, contexts and friends, as the docker
-- CLI reads them.
local core = require "dockerpty.core"

local M = {}

M.DEFAULT_HOST = "unix:///var/run/docker.sock"

local function env(getenv, name)
  local v = getenv(name)
  if v == "" then return nil end
  return v
end

-- The docker CLI's configuration directory: $DOCKER_CONFIG, else ~/.docker.
function M.config_dir(getenv)
  return env(getenv, "DOCKER_CONFIG") or ((env(getenv, "HOME") or "") .. "/.docker")
end

-- The most of config.json or meta.json read: far more than either holds, and a bound on
-- what a crafted file can make us keep.
M.FILE_MAX = 1024 * 1024

-- A file's text, at most FILE_MAX bytes: text | false when it cannot be opened | nil, message.
local function read_small(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local text, rerr = f:read(M.FILE_MAX + 1)
  f:close()
  if rerr then return nil, ("%s: %s"):format(path, rerr) end -- a directory, say
  text = text or "" -- nil at once: empty
  if #text > M.FILE_MAX then
    return nil, ("%s is larger than %d bytes, more than a docker CLI file holds"):format(path, M.FILE_MAX)
  end
  return text
end

-- The docker CLI's config.json, decoded: a table | nil (none, or empty) | nil, message.
function M.read_config(getenv)
  local path = M.config_dir(getenv) .. "/config.json"
  local text, rerr = read_small(path)
  if text == false then return nil end
  if not text then return nil, rerr end
  if not text:find("%S") then return nil end -- empty, as docker takes it
  local doc, err = core.json_decode(text)
  if type(doc) ~= "table" then return nil, ("%s: %s"):format(path, err or "not an object") end
  return doc
end

local function invalid(host, why)
  return nil, ("invalid engine host %q: %s"):format(host, why), "config"
end

-- Parses "unix:///path", "tcp://host[:port]" (also "http://", "https://", and "host:port",
-- which is tcp, as in docker); tls picks the default port. "unix://" is the default socket
-- and "tcp://:port" is localhost, as in docker. Returns {scheme=, path=} or
-- {scheme=, given=, host=, port=}, or nil, message, code.
function M.parse(host, tls)
  local scheme, rest = host:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    if host:find("^[%w%[]") and not host:find("/", 1, true) then
      scheme, rest = "tcp", host
    else
      return invalid(host, "expected unix:///path or tcp://host:port")
    end
  end
  scheme = scheme:lower()
  if scheme == "unix" then
    if rest == "" then rest = M.DEFAULT_HOST:sub(#"unix://" + 1) end
    if not rest:match("^/") or rest == "/" then
      return invalid(host, "a unix socket needs an absolute path, as in unix:///var/run/docker.sock")
    end
    return { scheme = "unix", path = rest }
  end
  if scheme ~= "tcp" and scheme ~= "http" and scheme ~= "https" then
    return invalid(host, ("the %s scheme is not supported (use unix or tcp)"):format(scheme))
  end
  rest = rest:gsub("/+$", "")
  if rest == "" then return invalid(host, "no host name") end
  local name, port = rest:match("^(%[[%x:.]+%])(.*)$")
  if not name then name, port = rest:match("^([^:/%[%]]*)(.*)$") end
  if not name then return invalid(host, "no host name") end
  if name == "" then name = "localhost" end
  if port:find("/", 1, true) then return invalid(host, "a path after the host and port is not supported") end
  if port == "" then
    port = (tls or scheme == "https") and 2376 or 2375
  else
    port = port:match("^:(%d+)$")
    port = port and tonumber(port)
    if not port or port < 1 or port > 65535 then
      return invalid(host, "the port must be a number from 1 to 65535")
    end
  end
  return { scheme = (tls or scheme == "https") and "https" or "http", given = scheme,
           host = name, port = port }
end

-- Whether a file can be read: true | false when there is none | nil, message when it is
-- there and cannot be read (permissions, a directory).
local ENOENT = 2

local function probe(path)
  local f, err, errno = io.open(path, "rb")
  if f then
    local ok, rerr = f:read(0)
    f:close()
    if ok or rerr == nil then return true end
    return nil, ("cannot read %s: %s"):format(path, rerr)
  end
  if errno == ENOENT then return false end
  return nil, ("cannot read %s"):format(err:find(path, 1, true) and err or path .. ": " .. err)
end

-- A docker CLI context from its store ($DOCKER_CONFIG/contexts): {name=, host=, tls_dir=}
-- | nil, message, code. Its files are named by the SHA-256 of its name, as docker names them.
function M.context(name, getenv)
  local store = M.config_dir(getenv) .. "/contexts"
  local digest = core.sha256(name)
  local path = store .. "/meta/" .. digest .. "/meta.json"
  local text, rerr = read_small(path)
  if text == false then return nil, ("context %q does not exist (no %s)"):format(name, path), "config" end
  if not text then return nil, ("context %q: %s"):format(name, rerr), "config" end
  local meta = core.json_decode(text)
  local ep = type(meta) == "table" and type(meta.Endpoints) == "table" and meta.Endpoints.docker
  if type(ep) ~= "table" or type(ep.Host) ~= "string" or ep.Host == "" then
    return nil, ("context %q has no docker endpoint in %s"):format(name, path), "config"
  end
  if ep.SkipTLSVerify == true then
    return nil, ("context %q skips TLS verification, which dockerpty never does"):format(name), "config"
  end
  return { name = name, host = ep.Host, tls_dir = store .. "/tls/" .. digest .. "/docker" }
end

-- The context in force when neither a host nor DOCKER_HOST is given: DOCKER_CONTEXT, else
-- the config file's currentContext; nil for docker's default.
local function current_context(getenv)
  local name = env(getenv, "DOCKER_CONTEXT")
  if not name then
    local conf = M.read_config(getenv)
    name = conf and type(conf.currentContext) == "string" and conf.currentContext ~= "" and conf.currentContext
  end
  if name and name ~= "default" then return name end
end

-- Resolves options and the environment into what the transport needs:
-- {base=, endpoint=, unix_socket=, ca_file=, cert_file=, key_file=, api_version=, context=}.
-- As the docker CLI: opts.host (-H), else opts.context (--context), else DOCKER_HOST, else
-- DOCKER_CONTEXT, else config.json's currentContext, else the local socket; with TLS
-- asked for and no host anywhere, tcp://localhost:2376. getenv is os.getenv unless a
-- caller passes its own.
function M.resolve(opts, getenv)
  getenv = getenv or os.getenv
  local host, context_name = opts.host, opts.context
  if host == "" then host = nil end -- as docker: -H "" is no -H
  if context_name == "" then context_name = nil end
  if host and context_name then
    return nil, "conflicting options: cannot give both a host and a context", "config"
  end
  local tls_verify = opts.tls_verify
  local tls_unverified = false -- DOCKER_TLS alone: TLS that does not verify the engine
  if tls_verify == nil then
    tls_verify = env(getenv, "DOCKER_TLS_VERIFY") ~= nil
    tls_unverified = not tls_verify and env(getenv, "DOCKER_TLS") ~= nil
  end
  if not host and not context_name then
    host = env(getenv, "DOCKER_HOST")
    if not host then context_name = current_context(getenv) end
  elseif context_name == "default" then
    host = env(getenv, "DOCKER_HOST") -- the default context is the environment's engine
  end
  local context, tls_dir
  if context_name and context_name ~= "default" then
    local err, code
    context, err, code = M.context(context_name, getenv)
    if not context then return nil, err, code end
    host, tls_dir = context.host, context.tls_dir
    -- a context's TLS is its own: with its files, verified; without them, none
    local has_tls = probe(tls_dir .. "/ca.pem") == true or probe(tls_dir .. "/cert.pem") == true
    if opts.tls_verify == true and not has_tls then -- asked for: never quietly plain HTTP
      return nil, ("tls_verify is set, but context %q has no TLS files (no ca.pem or cert.pem in %s)")
        :format(context.name, tls_dir), "config"
    end
    tls_verify = has_tls
    tls_unverified = false
  end
  host = host or (tls_verify and "tcp://localhost:2376") or M.DEFAULT_HOST
  local ep, err, code = M.parse(host, tls_verify)
  if not ep then return nil, err, code end
  if tls_unverified and ep.scheme ~= "unix" then
    return nil, "DOCKER_TLS asks for TLS without verifying the engine, which dockerpty never does: "
      .. "set DOCKER_TLS_VERIFY=1", "config"
  end

  local t = {
    api_version = opts.api_version or env(getenv, "DOCKER_API_VERSION"),
    timeout = opts.timeout,
    connect_timeout = opts.connect_timeout,
    max_body = opts.max_body,
    context = context and context.name,
  }
  if ep.scheme == "unix" then
    t.base, t.unix_socket, t.endpoint = "http://localhost", ep.path, "unix://" .. ep.path
    return t
  end
  local authority = ep.host .. ":" .. ep.port
  t.base = ep.scheme .. "://" .. authority
  t.endpoint = ep.given .. "://" .. authority
  if ep.scheme == "https" then
    local dir = tls_dir or opts.cert_path or env(getenv, "DOCKER_CERT_PATH") or M.config_dir(getenv)
    local ca, cert, key = dir .. "/ca.pem", dir .. "/cert.pem", dir .. "/key.pem"
    local has_ca, perr = probe(ca)
    if has_ca == nil then return nil, perr, "config" end
    if has_ca then
      t.ca_file = ca
    elseif not tls_dir then
      -- as docker: the engine is verified against this CA, never against the system's
      return nil, ("open %s: no such file or directory"):format(ca), "config"
    end
    local has_cert, cerr = probe(cert)
    if has_cert == nil then return nil, cerr, "config" end
    local has_key, kerr = probe(key)
    if has_key == nil then return nil, kerr, "config" end
    if has_cert ~= has_key then
      return nil, ("%s has %s but not %s"):format(dir, has_cert and "cert.pem" or "key.pem",
        has_cert and "key.pem" or "cert.pem"), "config"
    end
    if has_cert then t.cert_file, t.key_file = cert, key end
  end
  return t
end

return M
