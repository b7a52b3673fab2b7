-- Where a request to the gateway carries its credential, read out of the headers: an
-- Authorization: Bearer token, a Kubernetes-style bearer entry among the WebSocket
-- subprotocols, a session cookie. Only the reading; whether it is good is tokens' and
-- sessions' business. A pure part: no I/O.
local base64url = require "dockerpty.gateway.base64url"

local M = {}

M.PROTOCOL = "v5.channel.k8s.io"
M.BEARER_PREFIX = "base64url.bearer.authorization.k8s.io."

-- bearer(value) -> token | nil: an Authorization header's "Bearer TOKEN", the scheme in any
-- case (RFC 9110 section 11.1).
function M.bearer(value)
  if type(value) ~= "string" then return nil end
  local scheme, token = value:match("^(%a+) +([^ ]+) *$")
  if not scheme or scheme:lower() ~= "bearer" then return nil end
  return token
end

-- The comma-separated tokens of Sec-WebSocket-Protocol headers: a string or a list of them.
local function protocol_list(values)
  if type(values) == "string" then values = { values } end
  local out = {}
  for _, v in ipairs(values or {}) do
    for item in v:gmatch("[^,]+") do
      item = item:match("^[ \t]*(.-)[ \t]*$")
      if item ~= "" then out[#out + 1] = item end
    end
  end
  return out
end

-- subprotocols(values) -> token | nil, offered, bad: the token of a
-- "base64url.bearer.authorization.k8s.io.<base64url>" entry; the other entries, among which
-- the server picks the one it answers with (the bearer entry is never echoed back); and bad
-- when there is a bearer entry but no token from it (two of them, or one that does not
-- decode). values is what core.ws_upgrade gives as the subprotocols (a list), or header values.
function M.subprotocols(values)
  local token, seen, offered = nil, 0, {}
  for _, p in ipairs(protocol_list(values)) do
    if p:sub(1, #M.BEARER_PREFIX) == M.BEARER_PREFIX then
      seen = seen + 1
      token = base64url.decode(p:sub(#M.BEARER_PREFIX + 1))
    else
      offered[#offered + 1] = p
    end
  end
  if seen ~= 1 or token == "" then token = nil end
  return token, offered, seen > 0 and token == nil
end

-- choose(offered) -> the subprotocol to answer with, or nil: the gateway speaks only
-- v5.channel.k8s.io.
function M.choose(offered)
  for _, p in ipairs(offered) do
    if p == M.PROTOCOL then return p end
  end
end

-- cookies(value, name) -> the values of the cookies called name in a Cookie header, in its
-- order (a browser may send two of one name, one set by another port of the same host).
function M.cookies(value, name)
  local out = {}
  if type(value) ~= "string" then return out end
  for pair in value:gmatch("[^;]+") do
    local k, v = pair:match("^[ \t]*([^=]-)[ \t]*=[ \t]*(.-)[ \t]*$")
    if k == name then
      v = v:match('^"(.*)"$') or v
      out[#out + 1] = v
    end
  end
  return out
end

-- credential(headers, cookie_name) -> {from = "authorization" | "subprotocol" | "cookie",
-- token = (a token; a cookie's: the session ids, a list)} | nil. headers: authorization,
-- protocols (the subprotocol header values or list), cookie. A bearer in the header and one
-- in a subprotocol, or either of them unreadable, is refused (nil), so that no reader's order
-- decides which counts; a cookie beside a bearer is the browser's, sent with every request,
-- and the bearer counts.
function M.credential(h, cookie_name)
  local found = {}
  local header = h.authorization and M.bearer(h.authorization)
  if h.authorization and not header then return nil end
  if header then found[#found + 1] = { from = "authorization", token = header } end
  local sub, _, bad = M.subprotocols(h.protocols)
  if bad then return nil end
  if sub then found[#found + 1] = { from = "subprotocol", token = sub } end
  local ids = M.cookies(h.cookie, cookie_name)
  if #ids > 0 then found[#found + 1] = { from = "cookie", token = ids } end
  if #found == 2 and found[2].from == "cookie" then return found[1] end
  if #found ~= 1 then return nil end
  return found[1]
end

return M
