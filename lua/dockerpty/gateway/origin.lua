-- The Origin check of a browser's WebSocket upgrade, against cross-site WebSocket hijacking:
-- the page's origin must be the gateway's own (the Host it was asked for, the scheme of its
-- listener) or match one of serve's --origin patterns. A pure part: no I/O.
local M = {}

local DEFAULT_PORT = { http = 80, https = 443 }

-- An IPv6 address in RFC 5952's form (lowercase, no leading zeros, the longest run of two or
-- more zero groups as "::"), so that two spellings of one address compare equal; nil if it
-- is not one. A zone ("%eth0") is refused: no browser sends one.
local function ipv6(s)
  local function groups(part, last_may_be_v4)
    local out = {}
    if part == "" then return out end
    local items = {}
    for g in (part .. ":"):gmatch("([^:]*):") do items[#items + 1] = g end
    for i, g in ipairs(items) do
      if i == #items and last_may_be_v4 and g:find(".", 1, true) then
        local a, b, c, d = g:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
        a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
        if not (a and a < 256 and b < 256 and c < 256 and d < 256) then return nil end
        out[#out + 1], out[#out + 2] = a * 256 + b, c * 256 + d
      elseif g:match("^%x%x?%x?%x?$") then
        out[#out + 1] = tonumber(g, 16)
      else
        return nil
      end
    end
    return out
  end
  local all
  local head, tail = s:match("^(.-)::(.*)$")
  if head then
    if tail:find("::", 1, true) then return nil end
    local h, t = groups(head, false), groups(tail, true)
    if not h or not t or #h + #t > 7 then return nil end
    all = h
    for _ = 1, 8 - #h - #t do all[#all + 1] = 0 end
    for _, v in ipairs(t) do all[#all + 1] = v end
  else
    all = groups(s, true)
    if not all or #all ~= 8 then return nil end
  end
  local best, best_len, i = nil, 1, 1
  while i <= 8 do
    if all[i] == 0 then
      local j = i
      while j < 8 and all[j + 1] == 0 do j = j + 1 end
      if j - i + 1 > best_len then best, best_len = i, j - i + 1 end
      i = j + 1
    else
      i = i + 1
    end
  end
  local hex = {}
  for k = 1, 8 do hex[k] = ("%x"):format(all[k]) end
  if not best then return table.concat(hex, ":") end
  return table.concat(hex, ":", 1, best - 1) .. "::" .. table.concat(hex, ":", best + best_len, 8)
end
M.ipv6 = ipv6

-- host[:port] -> host (lowercase; an IPv6 literal in brackets, canonical), port | nil
local function authority(s, default_port)
  local host, rest
  if s:sub(1, 1) == "[" then
    local inside
    inside, rest = s:match("^%[([^%]]*)%](.*)$")
    local v6 = inside and ipv6(inside)
    if not v6 then return nil end
    host = "[" .. v6 .. "]"
  else
    host, rest = s:match("^([%w._-]+)(.*)$")
    if not host then return nil end
    host = host:lower()
  end
  local port = default_port
  if rest ~= "" then
    local digits = rest:match("^:(%d%d?%d?%d?%d?)$")
    port = tonumber(digits)
    if not port or port > 65535 then return nil end
  end
  return host, port
end

-- parse(origin) -> {scheme =, host =, port =} | nil: an Origin header's serialised origin,
-- http or https, with the scheme's default port when none is written.
function M.parse(s)
  if type(s) ~= "string" then return nil end
  local scheme, rest = s:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil end
  scheme = scheme:lower()
  if not DEFAULT_PORT[scheme] then return nil end
  local host, port = authority(rest, DEFAULT_PORT[scheme])
  if not host then return nil end
  return { scheme = scheme, host = host, port = port }
end

-- The gateway's own origin as the request names it: its Host, the scheme of the listener.
function M.own(host_header, tls)
  if type(host_header) ~= "string" then return nil end
  local scheme = tls and "https" or "http"
  local host, port = authority(host_header, DEFAULT_PORT[scheme])
  if not host then return nil end
  return { scheme = scheme, host = host, port = port }
end

-- compile(patterns) -> matchers | nil, message: --origin's values. A pattern is an origin,
-- "https://app.example.com" or "http://[::1]:3000", whose host may begin with "*." to match
-- every name below that domain (not the domain itself); the port is the scheme's default
-- unless written. "*" alone, or over a top-level domain, would let any site in: refused.
function M.compile(list)
  local out = {}
  for i, pat in ipairs(list or {}) do
    local function bad(why) return nil, ('--origin "%s": %s'):format(pat, why) end
    local scheme, rest = pat:match("^(%a[%w+.-]*)://(.*)$")
    if not scheme then
      return bad("expected an origin, as https://app.example.com or https://*.example.com")
    end
    scheme = scheme:lower()
    if not DEFAULT_PORT[scheme] then return bad("the scheme is http or https") end
    local wild = rest:sub(1, 2) == "*."
    if wild then rest = rest:sub(3) end
    local host, port = authority(rest, DEFAULT_PORT[scheme])
    if not host then return bad("expected host[:port] after the scheme, and no path") end
    if wild and (host:sub(1, 1) == "[" or not host:find(".", 1, true)) then
      return bad("a wildcard stands for the names below a domain with a dot in it, as *.example.com")
    end
    out[i] = { scheme = scheme, host = host, port = port, wild = wild, text = pat }
  end
  return out
end

local function matches(m, o)
  if m.scheme ~= o.scheme or m.port ~= o.port then return false end
  if not m.wild then return m.host == o.host end
  local suffix = "." .. m.host
  return #o.host > #suffix and o.host:sub(-#suffix) == suffix
end

-- check(origin, host, tls, matchers) -> true | false, reason. origin is the Origin header's
-- value (nil when there is none: not a browser, allowed, as the token still has to be good);
-- host the Host header's; tls whether the listener is TLS; matchers from compile. "null" (a
-- sandboxed frame, a file: page) is refused.
function M.check(origin, host, tls, matchers)
  if origin == nil then return true end
  if origin == "null" then return false, "the null origin is not allowed" end
  local o = M.parse(origin)
  if not o then return false, "the Origin header is not an origin" end
  local own = M.own(host, tls)
  if own and own.scheme == o.scheme and own.host == o.host and own.port == o.port then return true end
  for _, m in ipairs(matchers or {}) do
    if matches(m, o) then return true end
  end
  return false, "origin " .. origin .. " is not allowed"
end

return M
