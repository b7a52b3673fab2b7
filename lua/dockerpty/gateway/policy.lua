-- What one token of the gateway may do: which containers it sees (label selectors and name
-- globs), attach, exec and which commands, output only, its own cap on sessions. Every route
-- asks here; a container outside the policy is answered exactly as one that does not exist.
local M = {}

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

-- s in double quotes, its control characters, quotes and backslashes as \xNN: one line.
local function quoted(s)
  return '"' .. tostring(s):gsub("[%c\127\\\"]", function(c) return ("\\x%02x"):format(c:byte()) end) .. '"'
end

local function is_whole(v)
  return type(v) == "number" and v == math.floor(v) and v >= 1 and v < 2 ^ 31
end

-- A glob of container names: "*" is any run of characters, everything else itself.
local function glob(pattern)
  local lua = pattern:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*")
  lua = "^" .. lua .. "$"
  return function(name) return name:find(lua) ~= nil end
end

-- docker's label filter forms: "key" (the label is set, to anything) or "key=value".
local function label_selector(s)
  local k, v = s:match("^([^=]+)=(.*)$")
  if not k then k = s end
  if k == "" or k:find("=", 1, true) then return nil end
  return { key = k, value = v }
end

local SELECTOR_KEYS = { labels = true, name = true }
local POLICY_KEYS = { containers = true, attach = true, exec = true, read_only = true, max_sessions = true }

local function check_selector(raw, i)
  local where = ("policy.containers[%d]"):format(i)
  if type(raw) ~= "table" or is_array(raw) and next(raw) ~= nil then
    return nil, where .. ': expected an object with "labels" and/or "name"'
  end
  for k in pairs(raw) do
    if not SELECTOR_KEYS[k] then return nil, ("%s: unknown field %s"):format(where, quoted(k)) end
  end
  if raw.labels == nil and raw.name == nil then
    return nil, where .. ': names no condition ({"name": "*"} is every container)'
  end
  local sel = { labels = {} }
  if raw.labels ~= nil then
    if not is_array(raw.labels) or #raw.labels == 0 then
      return nil, where .. '.labels: expected a list of "key" or "key=value"'
    end
    for j, l in ipairs(raw.labels) do
      local s = type(l) == "string" and label_selector(l)
      if not s then return nil, ('%s.labels[%d]: expected "key" or "key=value"'):format(where, j) end
      sel.labels[j] = s
    end
  end
  if raw.name ~= nil then
    if type(raw.name) ~= "string" or raw.name == "" then
      return nil, where .. '.name: expected a name or a glob as "web-*"'
    end
    sel.name, sel.match_name = raw.name, glob(raw.name)
  end
  return sel
end

local function check_exec(raw)
  if raw == nil or raw == false then return false end
  if raw == true then return true end
  if not is_array(raw) or #raw == 0 then
    return nil, "policy.exec: expected true, false or a list of commands"
  end
  local rules = {}
  for i, r in ipairs(raw) do
    if type(r) == "string" and r ~= "" then
      rules[i] = r
    elseif is_array(r) and #r > 0 then
      for _, w in ipairs(r) do
        if type(w) ~= "string" then
          return nil, ("policy.exec[%d]: expected a list of strings (an argv)"):format(i)
        end
      end
      rules[i] = r
    else
      return nil, ('policy.exec[%d]: expected a program ("sh") or an argv (["ps", "aux"])'):format(i)
    end
  end
  return rules
end

-- check(raw) -> policy | nil, message: a policy as a tokens file writes it (see
-- doc/gateway.md), checked, unknown fields refused so that a misspelt restriction is not
-- silently no restriction.
function M.check(raw)
  if type(raw) ~= "table" or is_array(raw) and next(raw) ~= nil then
    return nil, "policy: expected an object"
  end
  for k in pairs(raw) do
    if not POLICY_KEYS[k] then return nil, ("policy: unknown field %s"):format(quoted(k)) end
  end
  if raw.containers == nil then
    return nil, 'policy.containers is missing ([{"name": "*"}] is every container)'
  end
  if not is_array(raw.containers) or #raw.containers == 0 then
    return nil, "policy.containers: expected a non-empty list of selectors"
  end
  local p = { containers = {} }
  for i, s in ipairs(raw.containers) do
    local sel, err = check_selector(s, i)
    if not sel then return nil, err end
    p.containers[i] = sel
  end
  for _, k in ipairs { "attach", "read_only" } do
    if raw[k] ~= nil and type(raw[k]) ~= "boolean" then
      return nil, ("policy.%s: expected true or false"):format(k)
    end
  end
  p.attach = raw.attach ~= false
  p.read_only = raw.read_only == true
  local exec, err = check_exec(raw.exec)
  if exec == nil then return nil, err end
  p.exec = exec
  if raw.max_sessions ~= nil then
    if not is_whole(raw.max_sessions) then return nil, "policy.max_sessions: expected a whole number, 1 or more" end
    p.max_sessions = raw.max_sessions
  end
  return p
end

-- Every container, attach and any exec: the policy of the token made when serve has no
-- --tokens.
function M.full()
  return assert(M.check { containers = { { name = "*" } }, attach = true, exec = true })
end

local function labels_of(c)
  local l = c.Labels
  if l == nil and type(c.Config) == "table" then l = c.Config.Labels end
  return type(l) == "table" and l or {}
end

-- A container's own names, without the "/": a summary's Names (but the "/other/alias" that
-- links add), or an inspect's Name.
local function names_of(c)
  local out = {}
  if type(c.Names) == "table" then
    for _, n in ipairs(c.Names) do
      if type(n) == "string" and n:match("^/[^/]+$") then out[#out + 1] = n:sub(2) end
    end
  elseif type(c.Name) == "string" then
    out[1] = (c.Name:gsub("^/", ""))
  end
  return out
end

local function selector_matches(sel, labels, names)
  for _, l in ipairs(sel.labels) do
    local v = labels[l.key]
    if type(v) ~= "string" or (l.value ~= nil and v ~= l.value) then return false end
  end
  if sel.match_name then
    for _, n in ipairs(names) do
      if sel.match_name(n) then return true end
    end
    return false
  end
  return true
end

-- visible(policy, container) -> bool: the container (a summary from GET /containers/json or
-- an inspect) matches any of the policy's selectors; a selector matches when all its labels
-- do and its name glob does.
function M.visible(p, c)
  if type(c) ~= "table" then return false end
  local labels, names = labels_of(c), names_of(c)
  for _, sel in ipairs(p.containers) do
    if selector_matches(sel, labels, names) then return true end
  end
  return false
end

local function no_such(ref)
  return nil, "No such container: " .. ref, 404
end

-- resolve(policy, client, ref) -> the container's summary | nil, message, code. ref is a
-- name, a full id or an id prefix, looked up among the visible containers only: the others
-- are not there, so an answer cannot depend on them (a prefix shared with an invisible
-- container resolves as if it were not) and a miss is "No such container: REF", 404, whatever
-- exists. A prefix shared by visible containers is code "ambiguous", naming only them.
function M.resolve(p, client, ref)
  if type(ref) ~= "string" or ref == "" then return no_such(tostring(ref or "")) end
  local list, err, code = client:containers { all = true }
  if not list then return nil, err, code end
  local visible = {}
  for _, c in ipairs(list) do
    if M.visible(p, c) then visible[#visible + 1] = c end
  end
  for _, c in ipairs(visible) do
    if c.Id == ref then return c end
  end
  local name = ref:gsub("^/", "")
  for _, c in ipairs(visible) do
    for _, n in ipairs(names_of(c)) do
      if n == name then return c end
    end
  end
  local found = {}
  for _, c in ipairs(visible) do
    if type(c.Id) == "string" and c.Id:sub(1, #ref) == ref then found[#found + 1] = c end
  end
  if #found == 1 then return found[1] end
  if #found > 1 then
    local names = {}
    for i, c in ipairs(found) do names[i] = c.Id:sub(1, 12) .. " (" .. (names_of(c)[1] or "") .. ")" end
    table.sort(names)
    return nil, ("%s matches %d containers: %s"):format(quoted(ref), #found, table.concat(names, ", ")), "ambiguous"
  end
  return no_such(ref)
end

-- list(policy, client) -> {{id =, name =, image =, state =, tty =}, ...} | nil, message, code:
-- GET /api/containers' answer. tty is the container's Config.Tty, which only an inspect has:
-- one request for each visible container; one gone in the meantime is left out.
function M.list(p, client)
  local list, err, code = client:containers { all = true }
  if not list then return nil, err, code end
  local out = {}
  for _, c in ipairs(list) do
    if M.visible(p, c) then
      local info, ierr, icode = client:inspect_container(c.Id)
      if info then
        out[#out + 1] = { id = c.Id, name = names_of(c)[1] or "", image = c.Image, state = c.State,
          tty = type(info.Config) == "table" and info.Config.Tty == true }
      elseif icode ~= 404 then
        return nil, ierr, icode
      end
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- may_attach(policy) -> bool
function M.may_attach(p)
  return p.attach == true
end

-- may_exec(policy, argv) -> bool: exec true allows any command; a list allows a command whose
-- first word is one of its strings (exactly: "sh" is not "/bin/sh"), or that is one of its
-- argvs word for word.
function M.may_exec(p, argv)
  if type(argv) ~= "table" or #argv == 0 then return false end
  for _, w in ipairs(argv) do
    if type(w) ~= "string" then return false end
  end
  if p.exec == true then return true end
  if type(p.exec) ~= "table" then return false end
  for _, rule in ipairs(p.exec) do
    if type(rule) == "string" then
      if argv[1] == rule then return true end
    elseif #rule == #argv then
      local same = true
      for i = 1, #rule do
        if rule[i] ~= argv[i] then same = false; break end
      end
      if same then return true end
    end
  end
  return false
end

return M
