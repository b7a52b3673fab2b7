-- Browser sessions of the gateway: the cookie that POST /login trades a token for, kept in
-- memory (random ids, an expiry, a bounded count) and mapped to the token's name, and the
-- Set-Cookie header that carries it.
local core = require "dockerpty.core"
local base64url = require "dockerpty.gateway.base64url"

local M = {}

M.DEFAULT_MAX = 10000
M.DEFAULT_TTL = 12 * 3600

-- The cookie's name: with TLS the __Host- prefix, which a browser keeps only for a cookie set
-- Secure, with Path=/ and no Domain, so that no other host or plain-HTTP page can plant one.
function M.cookie_name(tls)
  return tls and "__Host-dockerpty" or "dockerpty"
end

local Store = {}
Store.__index = Store

-- new({max =, ttl = (seconds), now = (a clock in seconds), random = (n -> n bytes)}) -> store.
-- Ids are kept by their SHA-256, so that looking one up takes no time that depends on how
-- much of a guess is right.
function M.new(opts)
  opts = opts or {}
  return setmetatable({
    max = opts.max or M.DEFAULT_MAX, ttl = opts.ttl or M.DEFAULT_TTL,
    now = opts.now or core.monotime, random = opts.random or core.random_bytes,
    by_digest = {}, n = 0,
  }, Store)
end

local function drop(self, digest)
  if self.by_digest[digest] then
    self.by_digest[digest] = nil
    self.n = self.n - 1
  end
end

-- Expired sessions out; if still full, the one that expires first, for room for one more.
local function make_room(self, now)
  for d, s in pairs(self.by_digest) do
    if s.expires <= now then drop(self, d) end
  end
  if self.n < self.max then return end
  local oldest, at
  for d, s in pairs(self.by_digest) do
    if not at or s.expires < at then oldest, at = d, s.expires end
  end
  drop(self, oldest)
end

-- store:create(name) -> id: a new session of the token called name; 32 random bytes in
-- base64url. At the bound, the session nearest its end gives way.
function Store:create(name)
  local now = self.now()
  if self.n >= self.max then make_room(self, now) end
  local id = base64url.encode(self.random(32))
  self.by_digest[core.sha256(id)] = { name = name, expires = now + self.ttl }
  self.n = self.n + 1
  return id
end

-- store:lookup(id) -> the token's name | nil (unknown, or expired and then forgotten).
function Store:lookup(id)
  if type(id) ~= "string" or #id ~= 43 then return nil end
  local d = core.sha256(id)
  local s = self.by_digest[d]
  if not s then return nil end
  if s.expires <= self.now() then
    drop(self, d)
    return nil
  end
  return s.name
end

-- store:remove(id): the session ends (logout).
function Store:remove(id)
  if type(id) == "string" then drop(self, core.sha256(id)) end
end

-- store:revoke(name): every session of a token that is gone.
function Store:revoke(name)
  for d, s in pairs(self.by_digest) do
    if s.name == name then drop(self, d) end
  end
end

function Store:count()
  return self.n
end

-- set_cookie(id, tls, [max_age]) -> a Set-Cookie header's value. max_age 0 (with any id)
-- clears the cookie.
function M.set_cookie(id, tls, max_age)
  local parts = { M.cookie_name(tls) .. "=" .. id, "Path=/", "HttpOnly", "SameSite=Strict" }
  if max_age then parts[#parts + 1] = ("Max-Age=%d"):format(max_age) end
  if tls then parts[#parts + 1] = "Secure" end
  return table.concat(parts, "; ")
end

return M
