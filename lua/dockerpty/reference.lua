-- Image references as docker reads them (distribution's reference package): a domain, a path
-- of lowercase components, a tag, a digest, and docker.io/library/ for a short name. Pure.
local M = {}

M.DEFAULT_DOMAIN = "docker.io"
M.DEFAULT_TAG = "latest"
M.NAME_MAX = 255

-- docker's own words, so that a script matching them matches ours
M.INVALID = "invalid reference format"
M.UPPERCASE = "invalid reference format: repository name must be lowercase"

-- [a-z0-9]+ joined by ".", "_", "__" or one or more "-".
local function valid_component(c)
  if c == "" or c:find("[^a-z0-9._-]") then return false end
  local shape = c:gsub("[a-z0-9]+", "a")
  if shape:sub(1, 1) ~= "a" or shape:sub(-1) ~= "a" then return false end
  for sep in shape:gmatch("a([^a]+)") do
    if not (sep == "." or sep == "_" or sep == "__" or sep:match("^%-+$")) then return false end
  end
  return true
end

-- host, host.name, host:port: components of letters, digits and inner hyphens.
local function valid_domain(d)
  local host, port = d:match("^([^:]*):(%d+)$")
  if not host then host = d end
  if d:find(":", 1, true) and not port then return false end
  for part in (host .. "."):gmatch("([^.]*)%.") do
    if not (part:match("^%w$") or part:match("^%w[%w-]*%w$")) then return false end
  end
  return true
end

local function valid_tag(t)
  return #t <= 128 and t:match("^[%w_][%w_.-]*$") ~= nil
end

local function valid_digest(d)
  local algo, hex = d:match("^([%a][%w]*[%w+._-]*):(%x+)$")
  if not algo or #hex < 32 then return false end
  if algo:find("[+._-][+._-]") or algo:find("[+._-]$") then return false end
  return not (algo == "sha256" and #hex ~= 64)
end

-- The name split as docker's splitDockerDomain does: the first component is a domain when
-- it has a "." or a ":", is localhost, or has upper case in it.
local function split_domain(name)
  local first, rest = name:match("^([^/]*)/(.*)$")
  if first and (first:find("[.:]") or first == "localhost" or first:lower() ~= first) then
    return first, rest
  end
  if not first then return M.DEFAULT_DOMAIN, "library/" .. name end
  return M.DEFAULT_DOMAIN, name
end

-- parse(s) -> {domain =, path =, tag =, digest =} | nil, message
-- docker's ParseNormalizedNamed: "busybox" is docker.io/library/busybox, with no tag; a
-- 64-digit hex string is an image ID, refused as a name.
function M.parse(s)
  if type(s) ~= "string" then return nil, M.INVALID end
  if s == "" then return nil, M.INVALID .. ": repository name must have at least one component" end
  if s:match("^%x+$") and #s == 64 and s:lower() == s then
    return nil, ("invalid repository name (%s), cannot specify 64-byte hexadecimal strings"):format(s)
  end
  local rest, digest = s:match("^([^@]*)@(.*)$")
  if not rest then rest = s end
  local name, tag = rest:match("^(.*):([^:/]*)$")
  if not name then name = rest end
  if digest and not valid_digest(digest) then return nil, M.INVALID end
  if tag and not valid_tag(tag) then return nil, M.INVALID end
  if name == "" then return nil, M.INVALID end
  local domain, path = split_domain(name)
  if path:lower() ~= path then
    local ok = true
    for c in (path:lower() .. "/"):gmatch("([^/]*)/") do ok = ok and valid_component(c) end
    return nil, ok and valid_domain(domain) and M.UPPERCASE or M.INVALID
  end
  if not valid_domain(domain) then return nil, M.INVALID end
  for c in (path .. "/"):gmatch("([^/]*)/") do
    if not valid_component(c) then return nil, M.INVALID end
  end
  if #domain + 1 + #path > M.NAME_MAX then
    return nil, ("repository name must not be more than %d characters"):format(M.NAME_MAX)
  end
  return { domain = domain, path = path, tag = tag, digest = digest }
end

-- The full name: docker.io/library/busybox, 127.0.0.1:5000/x/y.
function M.name(r)
  return r.domain .. "/" .. r.path
end

-- The name as docker shows it: docker.io/ and library/ left out.
function M.familiar_name(r)
  if r.domain ~= M.DEFAULT_DOMAIN then return M.name(r) end
  return (r.path:gsub("^library/([^/]+)$", "%1"))
end

local function suffix(r)
  return (r.tag and ":" .. r.tag or "") .. (r.digest and "@" .. r.digest or "")
end

-- With latest when neither tag nor digest was given, as docker pulls it.
function M.with_default_tag(r)
  if r.tag or r.digest then return r end
  return { domain = r.domain, path = r.path, tag = M.DEFAULT_TAG }
end

function M.string(r) return M.name(r) .. suffix(r) end
function M.familiar_string(r) return M.familiar_name(r) .. suffix(r) end

return M
