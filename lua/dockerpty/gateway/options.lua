-- dockerpty serve's flags, in flags.lua's form for cli.lua to register, and their values
-- checked into the gateway's settings: the listener, TLS, tokens, origins, limits. What is
-- unsafe on a network is refused unless --insecure-listen says so.
local core = require "dockerpty.core"
local origin = require "dockerpty.gateway.origin"

local M = {}

M.DEFAULT_LISTEN = "127.0.0.1:8022"
M.DEFAULT_MAX_SESSIONS = 1000
M.DEFAULT_IDLE_TIMEOUT = "1h"
M.UNIX_PATH_MAX = 107 -- sun_path's 108 bytes, the last a NUL

M.flags = {
  { long = "listen", kind = "string", meta = "HOST:PORT|unix:PATH", default = M.DEFAULT_LISTEN,
    help = "Address to listen on (default " .. M.DEFAULT_LISTEN .. "); a unix socket is made with mode 0600" },
  { long = "tls-cert", kind = "string", meta = "file", help = "Serve TLS with this certificate (PEM, the chain after it)" },
  { long = "tls-key", kind = "string", meta = "file", help = "The TLS certificate's private key (PEM)" },
  { long = "tls-client-ca", kind = "string", meta = "file", help = "Require a client certificate signed by this CA (PEM)" },
  { long = "tokens", kind = "string", meta = "file", help = "Tokens and their policies (JSON); without it, one token is made and printed" },
  { long = "origin", kind = "list", meta = "pattern", help = "Also allow browser pages from this origin (https://*.example.com), repeated" },
  { long = "max-sessions", kind = "int", meta = "n", default = M.DEFAULT_MAX_SESSIONS,
    help = "Sessions open at once, in all (default " .. M.DEFAULT_MAX_SESSIONS .. ")" },
  { long = "max-sessions-per-token", kind = "int", meta = "n", help = "Sessions open at once with one token" },
  { long = "idle-timeout", kind = "string", meta = "duration", default = M.DEFAULT_IDLE_TIMEOUT,
    help = "End a session with no bytes either way for this long, 0 for never (default " .. M.DEFAULT_IDLE_TIMEOUT .. ")" },
  { long = "record", kind = "string", meta = "dir",
    help = "Record every session in this directory (asciicast v2, one file each, named by token, container and time)" },
  { long = "insecure-listen", kind = "bool", help = "Allow a non-loopback address without TLS or without --tokens" },
  { short = "h", long = "help", kind = "bool", help = "Print usage" },
}

-- The command as cli.lua's COMMANDS hold one; its handler is the caller's.
M.command = {
  usage = "dockerpty serve [OPTIONS]",
  summary = "Serve container terminals over WebSocket",
  interspersed = true,
  max_args = 0,
  flags = M.flags,
}

local UNITS = { ms = 1e-3, s = 1, m = 60, h = 3600 }

-- duration(s) -> seconds | nil: Go's form, "30s", "15m", "1h30m", "1.5h"; "0" is zero.
function M.duration(s)
  if type(s) ~= "string" or s == "" then return nil end
  if s == "0" then return 0 end
  local total, rest = 0, s
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d*%.?%d+)(%a+)(.*)$")
    if not num or not UNITS[unit] then return nil end
    total, rest = total + tonumber(num) * UNITS[unit], tail
  end
  return total
end

-- host:port as a URL writes it, an IPv6 address in brackets.
function M.address(l)
  local host = l.host:find(":", 1, true) and "[" .. l.host .. "]" or l.host
  return host .. ":" .. l.port
end

local function loopback(host)
  if host == "localhost" or host == "::1" then return true end
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return a == "127" and tonumber(b) < 256 and tonumber(c) < 256 and tonumber(d) < 256
end

-- listen(s) -> {kind = "unix", path =, address =} | {kind = "tcp", host =, port =, loopback =,
-- address =} | nil, message. HOST is a name, an IPv4 address or an IPv6 one in brackets;
-- ":PORT" alone is 0.0.0.0, every interface; port 0 is one the system picks. address is what
-- core.listen takes: "HOST:PORT", "[V6]:PORT", "unix:PATH".
function M.listen(s)
  local function bad(why) return nil, ('invalid --listen "%s": %s'):format(s, why) end
  if s:sub(1, 5) == "unix:" then
    local path = s:sub(6)
    if path == "" then return bad("expected unix:PATH") end
    if #path > M.UNIX_PATH_MAX then return bad(("a socket's path is at most %d bytes"):format(M.UNIX_PATH_MAX)) end
    return { kind = "unix", path = path, address = s }
  end
  local host, port
  if s:sub(1, 1) == "[" then
    local inside, p = s:match("^%[([^%]]*)%]:(%d+)$")
    host = inside and origin.ipv6(inside)
    if not host then return bad("expected [IPv6]:PORT") end
    port = p
  else
    host, port = s:match("^([%w._-]*):(%d+)$")
    if not host then return bad("expected HOST:PORT or unix:PATH") end
    host = host:lower()
    if host == "" then host = "0.0.0.0" end
  end
  port = tonumber(port)
  if port > 65535 then return bad("the port is 0 to 65535") end
  local l = { kind = "tcp", host = host, port = port, loopback = loopback(host) }
  l.address = M.address(l)
  return l
end

local function readable(flag, path)
  local f, err = io.open(path, "rb")
  if not f then return nil, ("--%s: cannot read %s"):format(flag, err or path) end
  local ok, rerr = f:read(0)
  f:close()
  if not ok and rerr then return nil, ("--%s: cannot read %s: %s"):format(flag, path, rerr) end
  return true
end

-- validate(values) -> settings | nil, message: flags.parse's values for the flags above.
-- settings = {listen = (from M.listen), tls = nil | {cert =, key =, client_ca =}, tokens =
-- (the file, or nil: make one), origins = (origin.compile's matchers), max_sessions =,
-- max_sessions_per_token = (nil: no cap of its own), idle_timeout = (seconds, 0: none),
-- insecure = bool, record = (the directory, or nil)}.
function M.validate(v)
  local l, lerr = M.listen(v.listen or M.DEFAULT_LISTEN)
  if not l then return nil, lerr end
  local cert, key, ca = v["tls-cert"], v["tls-key"], v["tls-client-ca"]
  if cert and not key then return nil, "--tls-cert needs --tls-key, the certificate's private key" end
  if key and not cert then return nil, "--tls-key needs --tls-cert, the certificate it is the key of" end
  if ca and not cert then
    return nil, "--tls-client-ca needs --tls-cert and --tls-key: a client certificate is asked for in a TLS handshake"
  end
  if cert and l.kind == "unix" then return nil, "--tls-cert: a unix socket listener serves no TLS" end
  for _, f in ipairs { "tls-cert", "tls-key", "tls-client-ca", "tokens" } do
    if v[f] then
      if v[f] == "" then return nil, ("--%s: expected a file"):format(f) end
      local ok, err = readable(f, v[f])
      if not ok then return nil, err end
    end
  end
  local insecure = v["insecure-listen"] == true
  if l.kind == "tcp" and not l.loopback and not insecure then
    if not cert then
      return nil, ("refusing to listen on %s without TLS: tokens and terminals would cross the network in clear"
        .. " (give --tls-cert and --tls-key, or --insecure-listen to allow it)"):format(M.address(l))
    end
    if not v.tokens then
      return nil, ("refusing to listen on %s without --tokens: the one token made at start would reach every"
        .. " container (give --tokens FILE, or --insecure-listen to allow it)"):format(M.address(l))
    end
  end
  local origins, oerr = origin.compile(v.origin)
  if not origins then return nil, oerr end
  local max = v["max-sessions"] or M.DEFAULT_MAX_SESSIONS
  if max < 1 then return nil, ('invalid --max-sessions "%d": expected 1 or more'):format(max) end
  local per = v["max-sessions-per-token"]
  if per and per < 1 then return nil, ('invalid --max-sessions-per-token "%d": expected 1 or more'):format(per) end
  local idle_text = v["idle-timeout"] or M.DEFAULT_IDLE_TIMEOUT
  local idle = M.duration(idle_text)
  if not idle then
    return nil, ('invalid --idle-timeout "%s": expected a duration as 30s, 15m or 1h, or 0 for none'):format(idle_text)
  end
  if idle > 0 and idle < 1 then return nil, ('invalid --idle-timeout "%s": at least 1s, or 0 for none'):format(idle_text) end
  local record = v.record
  if record then
    if record == "" then return nil, "--record: expected a directory" end
    local probe = record .. "/.dockerpty-record-probe-" .. core.random_bytes(6):gsub(".", function(ch)
      return ("%02x"):format(ch:byte()) end)
    local ok, perr = core.create_file(probe, true)
    if not ok then
      return nil, ("--record: cannot make recordings in %s: %s"):format(record, (perr or ""):gsub("^.-: ", ""))
    end
  end
  return {
    listen = l,
    tls = cert and { cert = cert, key = key, client_ca = ca } or nil,
    tokens = v.tokens,
    origins = origins,
    max_sessions = max,
    max_sessions_per_token = per,
    idle_timeout = idle,
    insecure = insecure,
    record = record,
  }
end

-- url(settings, token, [port]) -> the address to open, the token in its fragment (which a
-- browser never sends, so it reaches no log) | nil for a unix socket. port is the one bound
-- when --listen asked for 0; an address of every interface is shown as loopback's.
function M.url(s, token, port)
  local l = s.listen
  if l.kind ~= "tcp" then return nil end
  local host = l.host
  if host == "0.0.0.0" then host = "127.0.0.1" elseif host == "::" then host = "::1" end
  return ("%s://%s/#token=%s"):format(s.tls and "https" or "http",
    M.address { host = host, port = port or l.port }, token)
end

return M
