-- Registry credentials as the docker CLI keeps them: auths in config.json, credsStore and
-- credHelpers (docker-credential-NAME programs), and the headers that carry them to the engine.
local core = require "dockerpty.core"
local client = require "dockerpty.client"
local endpoint = require "dockerpty.endpoint"

local M = {}
local Client, check = client.Client, client.check

-- Docker Hub's key in config.json and at the credential helpers, as docker writes it.
M.INDEX_SERVER = "https://index.docker.io/v1/"

-- What a helper prints when it holds nothing for a server (docker-credential-helpers' words).
M.NOT_FOUND = "credentials not found in native keychain"

local HUB = { ["docker.io"] = true, ["index.docker.io"] = true, ["registry-1.docker.io"] = true }

local STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

-- base64 with padding in the given alphabet; arithmetic only, for Lua 5.1 too.
local function b64(s, alphabet)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = {}
    for k = 4, 1, -1 do
      d[k] = n % 64 + 1
      n = math.floor(n / 64)
    end
    out[#out + 1] = alphabet:sub(d[1], d[1]) .. alphabet:sub(d[2], d[2])
      .. (b and alphabet:sub(d[3], d[3]) or "=") .. (c and alphabet:sub(d[4], d[4]) or "=")
  end
  return table.concat(out)
end

-- Standard base64 decoded, padding optional, as Go's decoder reads an auth: text | nil.
local function unb64(s)
  s = s:gsub("=+$", "")
  if s:find("[^%w+/]") or #s % 4 == 1 then return nil end
  local out, n, bits = {}, 0, 0
  for i = 1, #s do
    n = n * 64 + (STD:find(s:sub(i, i), 1, true) - 1)
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      local p = 2 ^ bits
      out[#out + 1] = string.char(math.floor(n / p))
      n = n % p
    end
  end
  return table.concat(out)
end

M.base64 = function(s) return b64(s, STD) end
M.base64url = function(s) return b64(s, URL) end

-- docker's ConvertToHostname: the scheme and any path dropped, host[:port] kept.
function M.hostname(url)
  local s = url:gsub("^https?://", "", 1)
  return (s:match("^[^/]*"))
end

-- The key a server is kept under, as docker login and logout take it: Docker Hub's in all
-- its spellings is INDEX_SERVER, any other host[:port] with the scheme and path dropped.
function M.server(s)
  if s == nil or s == "" or s == M.INDEX_SERVER then return M.INDEX_SERVER end
  local host = M.hostname(s)
  if HUB[host:lower()] then return M.INDEX_SERVER end
  return host
end

-- The server a reference's credentials are kept under: its registry part decides.
function M.for_reference(ref)
  if type(ref) == "string" then
    local r, err = require("dockerpty.reference").parse(ref)
    if not r then return nil, err end
    ref = r
  end
  return M.server(ref.domain)
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function config_path(getenv)
  return endpoint.config_dir(getenv or os.getenv) .. "/config.json"
end

-- config.json decoded, {} when there is none: doc | nil, message naming the file.
local function load(getenv)
  local doc, err = endpoint.read_config(getenv or os.getenv)
  if err then return nil, err end
  return doc or {}
end
M.load = load

-- The helper that keeps server's credentials: credHelpers' entry, else credsStore; with where
-- it was named, for messages. nil when config.json itself keeps them.
local function helper_of(doc, server, path)
  local helpers = type(doc.credHelpers) == "table" and doc.credHelpers or {}
  local name, from = helpers[server], ("credHelpers[%q] in %s"):format(server, path)
  if name == nil or name == "" then
    name, from = doc.credsStore, "credsStore in " .. path
  end
  if name == nil or name == "" then return nil end
  if type(name) ~= "string" or name:find("[/%c%s]") then
    return nil, ("%s is not a credential helper's name"):format(from)
  end
  return "docker-credential-" .. name
end

local STATUS = "\n__dockerpty_helper_status="

-- Runs `program action` with input on its stdin, as docker runs a credential helper: its
-- stdout | nil, message naming it. Its stderr is the user's, as with docker.
local function run_helper(program, action, input)
  local out_file = os.tmpname() -- made 0600: a get's answer holds the secret
  -- the input goes through pipes, never a file or the command line: a store's holds the
  -- secret. The shell takes all of it first, so that a helper that exits without reading
  -- it (or none at all) cannot end this process by SIGPIPE; printf is the shell's own.
  local cmd = ("input=$(cat); if command -v %s >/dev/null 2>&1; then printf '%%s' \"$input\" | %s %s; "
    .. "printf '%s%%d\\n' $?; else printf '%smissing\\n'; fi >%s")
    :format(program, program, action, STATUS, STATUS, shell_quote(out_file))
  local p = io.popen(cmd, "w")
  if not p then
    os.remove(out_file)
    return nil, ("cannot run %s"):format(program)
  end
  p:write(input)
  p:close()
  local f = io.open(out_file, "rb")
  local all = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(out_file)
  local out, status = all:match("^(.*)" .. STATUS .. "(%w+)\n$")
  if status == "missing" then return nil, ("%s is not on PATH"):format(program), "missing" end
  if not out then return nil, ("%s %s did not finish"):format(program, action) end
  if status ~= "0" then
    local said = out:gsub("^%s+", ""):gsub("%s+$", "")
    if said == M.NOT_FOUND then return nil, said, "not_found" end
    said = said:match("^[^\n]*"):sub(1, 200)
    return nil, ("%s %s failed with status %s%s"):format(program, action, status,
      said ~= "" and ": " .. said or ""), "failed"
  end
  return out
end
M.run_helper = run_helper

-- A helper's credentials for server: {username =, password = | identitytoken =, serveraddress =}
-- | false when it has none | nil, message naming it. Its output is never quoted: it may be a secret.
local function helper_get(program, server)
  local out, err, kind = run_helper(program, "get", server)
  if not out then
    if kind == "not_found" then return false end
    return nil, err
  end
  local doc = core.json_decode(out)
  if type(doc) ~= "table" or type(doc.Username or "") ~= "string" or type(doc.Secret or "") ~= "string" then
    return nil, ("%s get printed something that is not its JSON answer {ServerURL, Username, Secret}"):format(program)
  end
  if (doc.Secret or "") == "" then return false end
  if doc.Username == "<token>" then return { identitytoken = doc.Secret, serveraddress = server } end
  return { username = doc.Username, password = doc.Secret, serveraddress = server }
end

-- An auths entry decoded: its base64 auth split into user and password, or its identitytoken.
local function from_entry(entry, key, path)
  if type(entry) ~= "table" then return false end
  local out = { serveraddress = key }
  if type(entry.auth) == "string" and entry.auth ~= "" then
    local plain = unb64(entry.auth)
    local user, pass = (plain or ""):match("^([^:]*):(.*)$")
    if not user then
      return nil, ("%s: auths[%q].auth is not the base64 of user:password"):format(path, key)
    end
    out.username, out.password = user, pass
  elseif type(entry.username) == "string" and entry.username ~= "" then
    out.username, out.password = entry.username, type(entry.password) == "string" and entry.password or nil
  end
  if type(entry.identitytoken) == "string" and entry.identitytoken ~= "" then
    out.identitytoken = entry.identitytoken
  end
  if not (out.password or out.identitytoken) then return false end
  return out
end

-- The auths entry for server: its own key, else one that names the same host (a key written
-- with a scheme or a path, as older docker wrote them).
local function file_get(doc, server, path)
  local auths = type(doc.auths) == "table" and doc.auths or {}
  if auths[server] ~= nil then return from_entry(auths[server], server, path) end
  local host = M.hostname(server)
  for key, entry in pairs(auths) do
    if M.server(key) == server or (server ~= M.INDEX_SERVER and M.hostname(key) == host) then
      local found, err = from_entry(entry, key, path)
      if found then found.serveraddress = server end
      return found, err
    end
  end
  return false
end

-- get(server, {getenv =, config =}) -> {username =, password =, identitytoken =, serveraddress =}
-- | false when none are kept | nil, message. server is normalised as docker does.
function M.get(server, opts)
  opts = opts or {}
  server = M.server(server)
  local doc = opts.config
  if not doc then
    local err
    doc, err = load(opts.getenv)
    if not doc then return nil, err end
  end
  local path = config_path(opts.getenv)
  local program, herr = helper_of(doc, server, path)
  if herr then return nil, herr end
  if program then return helper_get(program, server) end
  return file_get(doc, server, path)
end

-- The X-Registry-Auth value for what get found: base64url of its JSON, as docker sends it.
function M.encode(auth)
  local t = {}
  for _, k in ipairs { "username", "password", "identitytoken", "serveraddress" } do
    if auth[k] ~= nil and auth[k] ~= "" then t[k] = auth[k] end
  end
  return M.base64url(core.json_encode(t))
end

-- registry_auth(ref, opts) -> X-Registry-Auth for pulling ref | false when none are kept
-- | nil, message
function M.registry_auth(ref, opts)
  local server, err = M.for_reference(ref)
  if not server then return nil, err end
  local auth, gerr = M.get(server, opts)
  if not auth then return auth, gerr end
  return M.encode(auth)
end

-- all({getenv =, config =}) -> every server's credentials, keyed by server, as docker
-- gathers them for a build | nil, message
function M.all(opts)
  opts = opts or {}
  local doc = opts.config
  if not doc then
    local err
    doc, err = load(opts.getenv)
    if not doc then return nil, err end
  end
  local path, all = config_path(opts.getenv), {}
  local servers = {}
  for key in pairs(type(doc.auths) == "table" and doc.auths or {}) do
    if type(key) == "string" then servers[M.server(key)] = true end
  end
  local store = type(doc.credsStore) == "string" and doc.credsStore ~= "" and helper_of(doc, "", path)
  if store then -- the store lists what it keeps, as docker asks it
    local out, lerr = run_helper(store, "list", "")
    if not out then return nil, lerr end
    local list = core.json_decode(out)
    if type(list) ~= "table" then
      return nil, ("%s list printed something that is not a JSON object"):format(store)
    end
    for key in pairs(list) do
      if type(key) == "string" then servers[M.server(key)] = true end
    end
  end
  for key in pairs(type(doc.credHelpers) == "table" and doc.credHelpers or {}) do
    if type(key) == "string" then servers[M.server(key)] = true end
  end
  for server in pairs(servers) do
    local auth, gerr = M.get(server, { getenv = opts.getenv, config = doc })
    if auth == nil then return nil, gerr end
    if auth then
      auth.serveraddress = server
      all[server] = auth
    end
  end
  return all
end

-- registry_config({getenv =, config =}) -> X-Registry-Config: all's, encoded as docker sends it
-- with a build | nil, message
function M.registry_config(opts)
  local all, err = M.all(opts)
  if not all then return nil, err end
  return M.base64url(core.json_encode(all))
end

-- JSON as docker writes config.json: keys sorted, indented with tabs.
local function pretty(v, indent)
  if type(v) ~= "table" or v == core.null then return core.json_encode(v) end
  local inner, parts = indent .. "\t", {}
  if getmetatable(v) == core.array_mt or (next(v) ~= nil and v[1] ~= nil) then
    for _, x in ipairs(v) do parts[#parts + 1] = inner .. pretty(x, inner) end
    if #parts == 0 then return "[]" end
    return "[\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = inner .. core.json_encode(k) .. ": " .. pretty(v[k], inner) end
  if #parts == 0 then return "{}" end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

-- save(doc, getenv) -> true | nil, message: config.json replaced whole, never half-written:
-- a new file of mode 0600 beside it, synced, then renamed over it.
function M.save(doc, getenv)
  local dir = endpoint.config_dir(getenv or os.getenv)
  local path = dir .. "/config.json"
  os.execute("mkdir -p -m 0700 " .. shell_quote(dir) .. " 2>/dev/null")
  local text = pretty(doc, "") .. "\n"
  local tmp, f, err
  for _ = 1, 10 do
    tmp = ("%s/config.json%s"):format(dir, core.sha256(tostring(core.monotime()) .. tostring({})):sub(1, 12))
    f, err = core.create_file(tmp)
    if f then break end
  end
  if not f then return nil, ("cannot write %s: %s"):format(path, err) end
  local ok, werr = f:write(text)
  f:close()
  -- the bytes on disk before the name moves: a crash leaves the old file or the new one
  if ok and not os.execute("sync " .. shell_quote(tmp)) then ok, werr = nil, "sync failed" end
  if ok then ok, werr = os.rename(tmp, path) end
  if not ok then
    os.remove(tmp)
    return nil, ("cannot write %s: %s"):format(path, werr)
  end
  return true
end

-- store(server, auth, {getenv =}) -> where they went ("helper NAME" or the file) | nil, message
-- As docker: through the helper when one is set, an empty auths entry kept beside; else
-- base64 of user:password (or the identitytoken) in auths.
function M.store(server, auth, opts)
  opts = opts or {}
  server = M.server(server)
  local doc, err = load(opts.getenv)
  if not doc then return nil, err end
  local path = config_path(opts.getenv)
  local program, herr = helper_of(doc, server, path)
  if herr then return nil, herr end
  if type(doc.auths) ~= "table" then doc.auths = {} end
  local entry = type(doc.auths[server]) == "table" and doc.auths[server] or {}
  entry.auth, entry.identitytoken, entry.username, entry.password = nil, nil, nil, nil
  if program then
    local secret, user = auth.password, auth.username
    if auth.identitytoken and auth.identitytoken ~= "" then secret, user = auth.identitytoken, "<token>" end
    local out, serr = run_helper(program, "store",
      core.json_encode { ServerURL = server, Username = user or "", Secret = secret or "" })
    if not out then return nil, serr end
  elseif auth.identitytoken and auth.identitytoken ~= "" then
    entry.identitytoken = auth.identitytoken
    if auth.username and auth.username ~= "" then entry.auth = M.base64(auth.username .. ":") end
  else
    entry.auth = M.base64((auth.username or "") .. ":" .. (auth.password or ""))
  end
  doc.auths[server] = entry
  local ok, werr = M.save(doc, opts.getenv)
  if not ok then return nil, werr end
  return program or path
end

-- erase(server, {getenv =}) -> true | false when none were kept | nil, message
function M.erase(server, opts)
  opts = opts or {}
  server = M.server(server)
  local doc, err = load(opts.getenv)
  if not doc then return nil, err end
  local path = config_path(opts.getenv)
  local program, herr = helper_of(doc, server, path)
  if herr then return nil, herr end
  local found = false
  if program then
    local out, eerr, kind = run_helper(program, "erase", server)
    if out then
      found = true
    elseif kind ~= "not_found" then
      return nil, eerr
    end
  end
  local auths = type(doc.auths) == "table" and doc.auths or {}
  local keys = {}
  for key in pairs(auths) do
    if type(key) == "string" and M.server(key) == server then keys[#keys + 1] = key end
  end
  for _, key in ipairs(keys) do
    found = found or from_entry(auths[key], key, path) ~= false
    auths[key] = nil
  end
  if #keys > 0 then
    local ok, werr = M.save(doc, opts.getenv)
    if not ok then return nil, werr end
  end
  return found
end

-- client:login({username =, password =, serveraddress =}) -> {Status =, IdentityToken =}
-- | nil, message, code: the engine checks them with the registry (POST /auth); nothing is kept.
function Client:login(auth)
  check(type(auth) == "table", 1, "login", "table expected, as {username =, password =, serveraddress =}")
  local doc, err, code = self:request("POST", "/auth", { body = auth })
  if not doc then return nil, err, code end
  return type(doc) == "table" and doc or { Status = "Login Succeeded" }
end

return M
