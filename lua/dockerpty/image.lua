-- The client's image methods: pull (its JSON-lines answer read as it streams), images,
-- inspect_image, remove_image. Loading this module adds them to the Client class.
local core = require "dockerpty.core"
local client = require "dockerpty.client"
local jsonlines = require "dockerpty.jsonlines"
local reference = require "dockerpty.reference"

local M = {}
local Client, check, escape = client.Client, client.check, client.escape

-- A name in a path: its "/", ":" and "@" kept, as the engine's routes take them.
local function path_escape(s)
  return (escape(s):gsub("%%2F", "/"):gsub("%%3A", ":"):gsub("%%40", "@"))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

-- base64url with padding, as docker encodes X-Registry-Auth; arithmetic only, for Lua 5.1 too.
function M.base64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = {}
    for k = 4, 1, -1 do
      d[k] = n % 64
      n = math.floor(n / 64)
    end
    out[#out + 1] = B64:sub(d[1] + 1, d[1] + 1) .. B64:sub(d[2] + 1, d[2] + 1)
      .. (b and B64:sub(d[3] + 1, d[3] + 1) or "=") .. (c and B64:sub(d[4] + 1, d[4] + 1) or "=")
  end
  return table.concat(out)
end

-- X-Registry-Auth from what the caller gave: a value already encoded, or a table of
-- username, password, serveraddress, identitytoken... encoded as docker does.
function M.registry_auth(auth)
  if type(auth) == "table" then return M.base64url(core.json_encode(auth)) end
  return auth
end

local Pull = {}
Pull.__index = Pull
M.Pull = Pull

-- pull_later(ref, {platform =, auth =, retry =, on_progress = function(message) end})
--   -> pull | nil, message, code
-- The pull is sent and its answer read as a host's loop finds it ready: fileno() to watch,
-- step() to read what is there (true once the pull is over), result() for its outcome
-- (waiting for it), close(). The engine's messages are handed to on_progress one line at a
-- time; an errorDetail among them, after HTTP 200, is the pull's failure, and so is the
-- engine's first "Retrying in N seconds" unless retry is true (docker's patience: about
-- 75 s of retries before it says the registry is gone).
function Client:pull_later(ref, opts)
  check(type(ref) == "string", 1, "pull", "string expected")
  opts = opts or {}
  check(type(opts) == "table", 2, "pull", "table expected, as {platform = \"linux/amd64\"}")
  check(opts.platform == nil or type(opts.platform) == "string", 2, "pull", "platform must be a string")
  check(opts.auth == nil or type(opts.auth) == "string" or type(opts.auth) == "table", 2, "pull",
    "auth must be a table or an encoded X-Registry-Auth string")
  check(opts.on_progress == nil or type(opts.on_progress) == "function", 2, "pull",
    "on_progress must be a function")
  check(opts.retry == nil or type(opts.retry) == "boolean", 2, "pull", "retry must be a boolean")
  local r, rerr = reference.parse(ref)
  if not r then return nil, rerr, "reference" end
  r = reference.with_default_tag(r)
  local auth = M.registry_auth(opts.auth)
  if auth ~= nil and not auth:match("^[%w%-_+/=]+$") then
    return nil, "auth: an X-Registry-Auth value is base64, with no other characters", "auth"
  end
  local v, err, code = self:negotiate()
  if not v then return nil, err, code end
  local q = client.query_string {
    fromImage = reference.name(r), tag = r.digest or r.tag,
    platform = opts.platform ~= "" and opts.platform or nil,
  }
  local stream, serr, scode, sctype = core.hijack(self.transport, "/v" .. v .. "/images/create" .. q,
    nil, "text/plain", false, false, "POST", { ["X-Registry-Auth"] = auth })
  if not stream then
    if type(scode) == "number" then
      local doc = (sctype or ""):find("json", 1, true) and core.json_decode(serr)
      serr = type(doc) == "table" and type(doc.message) == "string" and doc.message
        or (serr:gsub("%s+$", "") ~= "" and serr:gsub("%s+$", "")) or ("the engine answered HTTP %d"):format(scode)
    end
    return nil, serr, scode
  end
  return setmetatable({ client = self, ref = ref, r = r, stream = stream, lines = jsonlines.splitter(),
    on_progress = opts.on_progress, retry = opts.retry == true }, Pull)
end

function Pull:fileno()
  return self.stream and self.stream:fileno() or -1
end

function Pull:_take(line)
  local msg, jerr = core.json_decode(line)
  if type(msg) ~= "table" then
    self.failure = { ("%s in the answer to the pull of %s"):format(jerr or "not a JSON object", self.ref), "json" }
    return
  end
  if self.on_progress then self.on_progress(msg) end
  local detail = type(msg.errorDetail) == "table" and msg.errorDetail.message
  if msg.error or detail then
    self.failure = { tostring(detail or msg.error), "pull" }
  elseif not self.retry and type(msg.status) == "string" and msg.status:match("^Retrying in %d+ seconds?$") then
    -- the engine would try again for over a minute, saying nothing of why: the pull ends now
    self.failure = { ("the registry stopped answering while layer %s was downloading")
      :format(type(msg.id) == "string" and msg.id or "?"), "pull" }
  end
end

-- Reads what has come (waiting up to timeout_ms for it: 0 by default, -1 as long as it
-- takes) -> true once the pull is over. An error that on_progress raises closes the
-- connection, then goes on up.
function Pull:step(timeout_ms)
  if self.outcome then return true end
  local ok, perr = pcall(function()
    while not self.failure do
      local data, derr = self.stream:read(65536, timeout_ms or 0)
      if data == nil then
        if derr then self.failure = { derr, "transport" } end
        local last = self.lines:finish()
        if last and not self.failure then self:_take(last) end
        return true
      end
      if not data then return false end
      timeout_ms = 0 -- what came is taken; the rest waits for the next step
      local got, lerr = self.lines:feed(data)
      if not got then
        self.failure = { ("%s in the answer to the pull of %s"):format(lerr, self.ref), "too_large" }
        return true
      end
      for _, line in ipairs(got) do
        self:_take(line)
        if self.failure then return true end
      end
    end
    return true
  end)
  if ok and not perr then return false end
  self:close()
  if not ok then error(perr, 0) end
  if self.failure then
    self.outcome = { nil, self.failure[1], self.failure[2] }
  else
    local info, ierr, icode = self.client:inspect_image(reference.string(self.r))
    self.outcome = info and { info.Id } or { nil, ierr, icode }
  end
  return true
end

-- The image's id | nil, message, code; waits for the end of the pull.
function Pull:result()
  while not self:step(-1) do end
  return (table.unpack or unpack)(self.outcome, 1, 3)
end

function Pull:close()
  if self.stream then self.stream:close(); self.stream = nil end
  if not self.outcome then self.outcome = { nil, "the pull was closed before it ended", "closed" } end
end

-- pull(ref, opts) -> image id | nil, message, code: pull_later's, waited for.
function Client:pull(ref, opts)
  local p, err, code = self:pull_later(ref, opts)
  if not p then return nil, err, code end
  return p:result()
end

-- inspect_image(name or id) -> what the engine knows of it | nil, message, code
function Client:inspect_image(ref)
  check(type(ref) == "string" and ref ~= "", 1, "inspect_image", "a non-empty string expected")
  return self:request("GET", "/images/" .. path_escape(ref) .. "/json")
end

-- images({all =, filters =}) -> the engine's list, as GET /images/json gives it
function Client:images(opts)
  opts = opts or {}
  check(type(opts) == "table", 1, "images", "table expected, as {all = true}")
  return self:request("GET", "/images/json", { query = { all = opts.all or nil, filters = opts.filters } })
end

-- remove_image(name or id, {force =, noprune =}) -> {{Untagged = ...}, {Deleted = ...}, ...}
function Client:remove_image(ref, opts)
  check(type(ref) == "string" and ref ~= "", 1, "remove_image", "a non-empty string expected")
  opts = opts or {}
  check(type(opts) == "table", 2, "remove_image", "table expected, as {force = true}")
  return self:request("DELETE", "/images/" .. path_escape(ref), {
    query = { force = opts.force or nil, noprune = opts.noprune or nil },
  })
end

return M
