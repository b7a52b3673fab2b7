-- The gateway's tokens: the file that lists them (JSON, doc/gateway.md), the token made when
-- there is none, and the lookup of a presented token, in constant time on SHA-256 digests.
local core = require "dockerpty.core"
local policy = require "dockerpty.gateway.policy"
local base64url = require "dockerpty.gateway.base64url"

local M = {}

M.MIN_BYTES = 16 -- shorter is guessable; refused in a file, never matched when presented
M.MAX_BYTES = 4096 -- a presented token longer than this is not hashed, only refused
M.MAX_FILE = 1024 * 1024

local ENTRY_KEYS = { name = true, sha256 = true, token = true, policy = true }

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

local function shown(s)
  return (s:gsub("[%c\127\\\"]", function(c) return ("\\x%02x"):format(c:byte()) end))
end

local Set = {}
Set.__index = Set

local function new_set(entries, digests)
  return setmetatable({ entries = entries, digests = digests }, Set)
end

-- set:find(presented) -> entry {name =, policy =} | nil. The presented token's digest is
-- compared with every entry's, all of them whatever matches, each in constant time; nil says
-- nothing of why.
function Set:find(presented)
  if type(presented) ~= "string" then return nil end
  local fits = #presented >= M.MIN_BYTES and #presented <= M.MAX_BYTES
  local digest = core.sha256(fits and presented or "")
  local found
  for i, d in ipairs(self.digests) do
    if core.secure_equal(digest, d) and fits and not found then found = self.entries[i] end
  end
  return found
end

-- set:get(name) -> entry | nil: a token by its name, as a cookie session refers to it.
function Set:get(name)
  for _, e in ipairs(self.entries) do
    if e.name == name then return e end
  end
end

-- parse(text, file) -> set | nil, message: a tokens file's content; file names it in messages.
-- The second result is true when some entry holds its token in plain.
function M.parse(text, file)
  local function fail(msg) return nil, ("tokens file %s: %s"):format(file, msg) end
  local doc, jerr = core.json_decode(text)
  if doc == nil then return fail("not JSON: " .. tostring(jerr)) end
  if type(doc) ~= "table" or is_array(doc) and next(doc) ~= nil or not is_array(doc.tokens) then
    return fail('expected an object with a "tokens" list')
  end
  for k in pairs(doc) do
    if k ~= "tokens" then return fail(('unknown field "%s"'):format(shown(tostring(k)))) end
  end
  if #doc.tokens == 0 then return fail("lists no tokens") end
  local entries, digests, by_name, by_digest, plain = {}, {}, {}, {}, false
  for i, raw in ipairs(doc.tokens) do
    local where = ("entry %d"):format(i)
    if type(raw) == "table" and type(raw.name) == "string" then
      where = ('entry %d ("%s")'):format(i, shown(raw.name))
    end
    local function bad(msg) return fail(where .. ": " .. msg) end
    if type(raw) ~= "table" or is_array(raw) and next(raw) ~= nil then return bad("expected an object") end
    for k in pairs(raw) do
      if not ENTRY_KEYS[k] then return bad(('unknown field "%s"'):format(shown(tostring(k)))) end
    end
    local name = raw.name
    if type(name) ~= "string" or #name > 64 or not name:match("^[%w][%w._@+-]*$") then
      return bad('"name": expected 1 to 64 letters, digits and ._@+- (a letter or digit first)')
    end
    if by_name[name] then return bad(("duplicate name (also entry %d)"):format(by_name[name])) end
    local digest
    if raw.sha256 ~= nil and raw.token ~= nil then
      return bad('has both "sha256" and "token": give one')
    elseif raw.sha256 ~= nil then
      if type(raw.sha256) ~= "string" or not raw.sha256:match(("^" .. ("%x"):rep(64) .. "$")) then
        return bad('"sha256": expected the 64 hex digits of the token\'s SHA-256')
      end
      digest = raw.sha256:lower()
    elseif raw.token ~= nil then
      local t = raw.token
      if type(t) ~= "string" then return bad('"token": expected a string') end
      if #t < M.MIN_BYTES then return bad(('"token": shorter than %d bytes'):format(M.MIN_BYTES)) end
      if #t > M.MAX_BYTES then return bad(('"token": longer than %d bytes'):format(M.MAX_BYTES)) end
      if not t:match("^[\33-\126]+$") then
        return bad('"token": only printable ASCII without spaces, which a header can carry')
      end
      digest, plain = core.sha256(t), true
    else
      return bad('has no "sha256" (or "token")')
    end
    if by_digest[digest] then return bad(("same token as entry %d"):format(by_digest[digest])) end
    if raw.policy == nil then return bad('has no "policy"') end
    local p, perr = policy.check(raw.policy)
    if not p then return bad(perr) end
    entries[i] = { name = name, policy = p }
    digests[i] = digest
    by_name[name], by_digest[digest] = i, i
  end
  return new_set(entries, digests), plain
end

-- The mode of path's file, through its symbolic links.
local function file_mode(path)
  for _ = 1, 16 do
    local st = core.lstat(path)
    if not st then return nil end
    if st.type ~= "symlink" then return st.mode end
    local target = core.readlink(path)
    if not target then return nil end
    if target:sub(1, 1) ~= "/" then target = (path:match("^(.*/)") or "") .. target end
    path = target
  end
end

-- load(path) -> set, warnings | nil, message. warnings is a list of lines: the file holds a
-- plain token and group or others may read it; group or others may write it (and so add a
-- token of their own).
function M.load(path)
  local f, oerr = io.open(path, "rb")
  if not f then return nil, ("cannot read tokens file %s"):format(oerr or path) end
  local text, rerr = f:read(M.MAX_FILE + 1)
  f:close()
  if not text and rerr then return nil, ("cannot read tokens file %s: %s"):format(path, rerr) end
  text = text or ""
  if #text > M.MAX_FILE then
    return nil, ("tokens file %s: larger than %d bytes"):format(path, M.MAX_FILE)
  end
  local set, plain = M.parse(text, path)
  if not set then return nil, plain end
  local warnings, mode = {}, file_mode(path)
  if mode then
    local group_other = mode % 64
    if plain and (math.floor(group_other / 32) % 2 == 1 or math.floor(group_other / 4) % 2 == 1) then
      warnings[#warnings + 1] = ("tokens file %s holds plain tokens and group or others may read it (mode %04o):"
        .. ' chmod 600 it, or keep "sha256" digests only'):format(path, mode)
    end
    if math.floor(group_other / 16) % 2 == 1 or math.floor(group_other / 2) % 2 == 1 then
      warnings[#warnings + 1] = ("tokens file %s: group or others may write it (mode %04o), and so add a token"
        .. " of their own: chmod go-w it"):format(path, mode)
    end
  end
  return set, warnings
end

-- digest(token) -> the 64 hex digits a tokens file's "sha256" holds for it.
function M.digest(token)
  return core.sha256(token)
end

-- generate() -> token, set: 32 random bytes in base64url (43 characters), and a set holding
-- it alone, named "default", with every container, attach and exec: serve's token when it
-- has no --tokens.
function M.generate()
  local token = base64url.encode(core.random_bytes(32))
  return token, new_set({ { name = "default", policy = policy.full() } }, { core.sha256(token) })
end

return M
