-- Where the engine is and how to reach it: DOCKER_HOST and friends, as the docker CLI reads them.
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

local function invalid(host, why)
  return nil, ("invalid engine host %q: %s"):format(host, why), "config"
end

-- Parses "unix:///path", "tcp://host[:port]" (also "http://", "https://"); tls picks the
-- default port. Returns {scheme=, path=} or {scheme=, host=, port=}, or nil, message, code.
function M.parse(host, tls)
  local scheme, rest = host:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    return invalid(host, "expected unix:///path or tcp://host:port")
  end
  scheme = scheme:lower()
  if scheme == "unix" then
    if not rest:match("^/") or rest == "/" then
      return invalid(host, "a unix socket needs an absolute path, as in unix:///var/run/docker.sock")
    end
    return { scheme = "unix", path = rest }
  end
  if scheme ~= "tcp" and scheme ~= "http" and scheme ~= "https" then
    return invalid(host, ("the %s scheme is not supported (use unix or tcp)"):format(scheme))
  end
  rest = rest:gsub("/+$", "")
  local name, port = rest:match("^(%[[%x:.]+%])(.*)$")
  if not name then name, port = rest:match("^([^:/%[%]]*)(.*)$") end
  if not name or name == "" then return invalid(host, "no host name") end
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

local function readable(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- Resolves options and the environment into what the transport needs:
-- {base=, endpoint=, unix_socket=, ca_file=, cert_file=, key_file=, api_version=}.
-- getenv is os.getenv unless a caller passes its own.
function M.resolve(opts, getenv)
  getenv = getenv or os.getenv
  local host = opts.host or env(getenv, "DOCKER_HOST") or M.DEFAULT_HOST
  local tls_verify = opts.tls_verify
  if tls_verify == nil then tls_verify = env(getenv, "DOCKER_TLS_VERIFY") ~= nil end
  local ep, err, code = M.parse(host, tls_verify)
  if not ep then return nil, err, code end

  local t = {
    api_version = opts.api_version or env(getenv, "DOCKER_API_VERSION"),
    timeout = opts.timeout,
    connect_timeout = opts.connect_timeout,
    max_body = opts.max_body,
  }
  if ep.scheme == "unix" then
    t.base, t.unix_socket, t.endpoint = "http://localhost", ep.path, "unix://" .. ep.path
    return t
  end
  local authority = ep.host .. ":" .. ep.port
  t.base = ep.scheme .. "://" .. authority
  t.endpoint = ep.given .. "://" .. authority
  if ep.scheme == "https" then
    local dir = opts.cert_path or env(getenv, "DOCKER_CERT_PATH")
    local explicit = dir ~= nil
    dir = dir or M.config_dir(getenv)
    local ca, cert, key = dir .. "/ca.pem", dir .. "/cert.pem", dir .. "/key.pem"
    if readable(ca) then
      t.ca_file = ca
    elseif explicit then
      return nil, ("cannot read %s: no such file or not readable"):format(ca), "config"
    end
    local has_cert, has_key = readable(cert), readable(key)
    if has_cert ~= has_key then
      return nil, ("%s has %s but not %s"):format(dir, has_cert and "cert.pem" or "key.pem",
        has_cert and "key.pem" or "cert.pem"), "config"
    end
    if has_cert then t.cert_file, t.key_file = cert, key end
  end
  return t
end

return M
