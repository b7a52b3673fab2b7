-- dockerpty ps: docker's columns, or the container fields through a Go template as
-- `docker ps --format` takes one ({{.ID}}, {{.Label "k"}}, `table ...`, `json`).
local core = require "dockerpty.core"
local sel = require "dockerpty.select"
local base = require "dockerpty.cli.base"

local exit_with, fail = base.exit_with, base.fail
local floor = math.floor

local M = {}

-- docker's "2 minutes ago".
function M.human_duration(seconds)
  if seconds < 1 then return "Less than a second" end
  if seconds == 1 then return "1 second" end
  if seconds < 60 then return ("%d seconds"):format(seconds) end
  local minutes = floor(seconds / 60)
  if minutes == 1 then return "About a minute" end
  if minutes < 60 then return ("%d minutes"):format(minutes) end
  local hours = floor(seconds / 3600)
  if hours == 1 then return "About an hour" end
  if hours < 48 then return ("%d hours"):format(hours) end
  if hours < 24 * 7 * 2 then return ("%d days"):format(floor(hours / 24)) end
  if hours < 24 * 30 * 2 then return ("%d weeks"):format(floor(hours / 24 / 7)) end
  if hours < 24 * 365 * 2 then return ("%d months"):format(floor(hours / 24 / 30)) end
  return ("%d years"):format(floor(hours / 24 / 365))
end

-- Characters, not bytes, in UTF-8 text (any Lua, 5.1 included).
local function width(s)
  return select(2, s:gsub("[^\128-\191]", ""))
end

-- At most n characters, the last one "…" when it was longer.
local function ellipsis(s, n)
  if width(s) <= n then return s end
  local out, count = {}, 0
  for ch in s:gmatch("[%z\1-\127\192-\255][\128-\191]*") do
    count = count + 1
    if count == n then break end
    out[#out + 1] = ch
  end
  return table.concat(out) .. "…"
end

-- Columns padded as docker's tabwriter pads them: at least 10 wide, 3 spaces between.
local function table_text(rows)
  local widths = {}
  for _, r in ipairs(rows) do
    for i, cell in ipairs(r) do
      if i < #r then widths[i] = math.max(widths[i] or 0, width(cell) + 3, 10) end
    end
  end
  local out = {}
  for _, r in ipairs(rows) do
    local line = {}
    for i, cell in ipairs(r) do
      if i < #r then
        line[#line + 1] = cell .. string.rep(" ", widths[i] - width(cell))
      else
        line[#line + 1] = cell
      end
    end
    out[#out + 1] = table.concat(line)
  end
  return table.concat(out, "\n") .. "\n"
end

-- Any value the engine put there as text, whatever its type: escaped later, never raised on.
local function as_text(v)
  if type(v) == "string" or type(v) == "number" then return tostring(v) end
  return ""
end

local function ports_text(ports)
  local parts = {}
  for _, p in ipairs(type(ports) == "table" and ports or {}) do
    if type(p) ~= "table" then
      parts[#parts + 1] = as_text(p)
    elseif p.PublicPort then
      parts[#parts + 1] = ("%s:%s->%s/%s"):format(p.IP and as_text(p.IP) or "0.0.0.0", as_text(p.PublicPort),
        as_text(p.PrivatePort), as_text(p.Type))
    else
      parts[#parts + 1] = ("%s/%s"):format(as_text(p.PrivatePort), as_text(p.Type))
    end
  end
  return table.concat(parts, ", ")
end

-- JSON whose strings hold no DEL or C1 control either: the same values, written as \u escapes.
local function json_text(v)
  return (core.json_encode(v):gsub("\127", "\\u007f"):gsub("\194([\128-\159])", function(c)
    return ("\\u%04x"):format(c:byte())
  end))
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(type(t) == "table" and t or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- The fields docker's container formatter has, each as text from an engine summary, in
-- the order `ps --format json` writes them, with the header a table gives each.
local FIELDS = {
  { "Command", "COMMAND" }, { "CreatedAt", "CREATED AT" }, { "ID", "CONTAINER ID" },
  { "Image", "IMAGE" }, { "Labels", "LABELS" }, { "LocalVolumes", "LOCAL VOLUMES" },
  { "Mounts", "MOUNTS" }, { "Names", "NAMES" }, { "Networks", "NETWORKS" }, { "Ports", "PORTS" },
  { "RunningFor", "CREATED" }, { "State", "STATE" }, { "Status", "STATUS" },
}
local HEADER = {}
for _, f in ipairs(FIELDS) do HEADER[f[1]] = f[2] end

local function field_names()
  local names = {}
  for _, f in ipairs(FIELDS) do names[#names + 1] = f[1] end
  return table.concat(names, ", ")
end

-- Every field of one container as docker's formatter shows it; trunc as ps does by default.
local function fields(c, trunc, now)
  local names = {}
  for _, n in ipairs(type(c.Names) == "table" and c.Names or {}) do names[#names + 1] = (as_text(n):gsub("^/", "")) end
  local labels = {}
  for _, k in ipairs(sorted_keys(c.Labels)) do labels[#labels + 1] = k .. "=" .. tostring(c.Labels[k]) end
  local mounts, volumes = {}, 0
  for _, m in ipairs(type(c.Mounts) == "table" and c.Mounts or {}) do
    if type(m) ~= "table" then m = {} end
    local name = type(m.Name) == "string" and m.Name ~= "" and m.Name or tostring(m.Source or "")
    mounts[#mounts + 1] = trunc and ellipsis(name, 15) or name
    if m.Driver == "local" then volumes = volumes + 1 end
  end
  local networks = sorted_keys(type(c.NetworkSettings) == "table" and c.NetworkSettings.Networks)
  local command, id = as_text(c.Command), as_text(c.Id)
  local created = type(c.Created) == "number" and c.Created or now
  return {
    ID = trunc and id:sub(1, 12) or id,
    Image = as_text(c.Image),
    Command = '"' .. sel.printable(trunc and ellipsis(command, 20) or command, true) .. '"',
    CreatedAt = os.date("%Y-%m-%d %H:%M:%S %z %Z", created),
    RunningFor = M.human_duration(math.max(0, now - created)) .. " ago",
    Ports = ports_text(c.Ports),
    Status = as_text(c.Status),
    State = as_text(c.State),
    Names = table.concat(names, ","),
    Labels = table.concat(labels, ","),
    Mounts = table.concat(mounts, ","),
    Networks = table.concat(networks, ","),
    LocalVolumes = tostring(volumes),
  }, c.Labels
end

-- As docker: a template it cannot use ends ps with 1, before the engine is asked.
local function bad_format(format, why)
  exit_with(1, ('invalid --format "%s": %s'):format(sel.printable(format, true), why))
end

-- A Go template's text and actions: {{.Field}}, {{.Label "key"}}, {{json .Field}},
-- {{json .}}, {{upper .Field}}, {{lower .Field}}. Returns a list of pieces: a string, or
-- {fn =, field =, key =}; raises a one-line error for anything else.
local function compile(format)
  local pieces, i = {}, 1
  while true do
    local s, e = format:find("{{", i, true)
    if not s then
      if format:find("}}", i, true) then bad_format(format, "unexpected }} outside an action") end
      pieces[#pieces + 1] = format:sub(i)
      break
    end
    if s > i then pieces[#pieces + 1] = format:sub(i, s - 1) end
    local close = format:find("}}", e + 1, true)
    if not close then bad_format(format, "unclosed action (a {{ without }})") end
    local action = format:sub(e + 1, close - 1):gsub("^%s*%-?%s*", ""):gsub("%s*%-?%s*$", "")
    local fn, rest = action:match("^(%a+)%s+(.*)$")
    if fn and fn ~= "json" and fn ~= "upper" and fn ~= "lower" then
      bad_format(format, ("function %q is not one dockerpty knows (json, upper, lower)"):format(fn))
    end
    rest = rest or action
    local piece = { fn = fn }
    local key = rest:match('^%.Label%s+"([^"]*)"$') or rest:match("^%.Label%s+`([^`]*)`$")
    if key then
      piece.field, piece.key = "Label", key
    elseif rest:find("^%.Label%f[^%w]") then
      bad_format(format, '.Label takes a key in quotes, as {{.Label "app"}}')
    elseif rest == "." and fn == "json" then
      piece.field = "."
    else
      local name = rest:match("^%.(%a+)$")
      if not name then bad_format(format, ("cannot read the action {{%s}}"):format(action)) end
      if not HEADER[name] then
        bad_format(format, ("no field %s in a container (there are %s, and .Label \"key\")"):format(name, field_names()))
      end
      piece.field = name
    end
    pieces[#pieces + 1] = piece
    i = close + 2
  end
  return pieces
end

-- The fields as `ps --format json` writes them: an object, its keys sorted, values text.
local function json_line(f)
  local parts = {}
  for _, d in ipairs(FIELDS) do
    parts[#parts + 1] = json_text(d[1]) .. ":" .. json_text(f[d[1]])
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function render(pieces, f, labels)
  local out = {}
  for _, p in ipairs(pieces) do
    if type(p) == "string" then
      out[#out + 1] = p
    else
      local v
      if p.field == "." then
        v = json_line(f)
      elseif p.field == "Label" then
        v = type(labels) == "table" and labels[p.key] or ""
        v = p.fn == "json" and json_text(as_text(v)) or sel.printable(as_text(v))
      else
        v = p.fn == "json" and json_text(f[p.field]) or sel.printable(f[p.field])
      end
      if p.fn == "upper" then v = v:upper() elseif p.fn == "lower" then v = v:lower() end
      out[#out + 1] = v
    end
  end
  return table.concat(out)
end

-- A table's header: each action's column name in the action's place.
local function header(pieces)
  local out = {}
  for _, p in ipairs(pieces) do
    if type(p) == "string" then
      out[#out + 1] = p
    elseif p.field == "Label" then
      out[#out + 1] = "LABEL"
    elseif p.field == "." then
      out[#out + 1] = ""
    else
      out[#out + 1] = HEADER[p.field]
    end
  end
  return table.concat(out)
end

local DEFAULT_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

-- What `ps --format FORMAT` prints for list; a bad template raises a one-line error.
function M.format(list, format, opts)
  opts = opts or {}
  local now = opts.now or os.time()
  local trunc = not opts.no_trunc
  if format == "json" then
    local lines = {}
    for _, c in ipairs(list) do lines[#lines + 1] = json_line((fields(c, trunc, now))) .. "\n" end
    return table.concat(lines)
  end
  if format == "table" then format = DEFAULT_TABLE end
  -- as docker: \t and \n typed in the flag are a tab and a new line
  local text = format:gsub("\\t", "\t"):gsub("\\n", "\n")
  local is_table = text:find("^table%s") ~= nil
  if is_table then text = text:gsub("^table%s+", "") end
  local pieces = compile(text)
  if not is_table then
    local lines = {}
    for _, c in ipairs(list) do lines[#lines + 1] = render(pieces, fields(c, trunc, now)) .. "\n" end
    return table.concat(lines)
  end
  local rows = {}
  local function add(line)
    for l in (line .. "\n"):gmatch("([^\n]*)\n") do
      local cells = {}
      for cell in (l .. "\t"):gmatch("([^\t]*)\t") do cells[#cells + 1] = cell end
      rows[#rows + 1] = cells
    end
  end
  add(header(pieces))
  for _, c in ipairs(list) do add(render(pieces, fields(c, trunc, now))) end
  return table_text(rows)
end

M.ps = {
  usage = "dockerpty ps [OPTIONS]",
  summary = "List containers",
  interspersed = true,
  max_args = 0,
  flags = {
    { short = "a", long = "all", kind = "bool", help = "Show all containers (default shows just running)" },
    { short = "q", long = "quiet", kind = "bool", help = "Only display container IDs" },
    { short = "f", long = "filter", kind = "list", help = "Filter output based on conditions provided (key=value)" },
    { long = "format", kind = "string", help = 'Format output: "table", "table TEMPLATE", "json" or a Go template ({{.ID}} {{.Names}} ...)' },
    { long = "no-trunc", kind = "bool", help = "Don't truncate output" },
    { short = "n", long = "last", kind = "int", help = "Show n last created containers (includes all states)" },
    { short = "l", long = "latest", kind = "bool", help = "Show the latest created container (includes all states)" },
    base.HELP,
  },
}

function M.ps.handler(client, opts)
  local filters
  for _, f in ipairs(opts.filter or {}) do
    local k, v = f:match("^([^=]+)=(.*)$")
    if not k then exit_with(base.FAIL, ("bad format of filter (expected name=value): %s"):format(f), "ps") end
    filters = filters or {}
    filters[k] = filters[k] or {}
    table.insert(filters[k], v)
  end
  local limit = opts.latest and 1 or opts.last
  if limit and limit < 0 then limit = nil end -- as docker: -n -1 is no limit
  local format = opts.format
  if format and format ~= "" and not opts.quiet then M.format({}, format) end -- a bad one, before asking
  local list, err, code = client:containers { all = opts.all or limit ~= nil, filters = filters, limit = limit }
  if not list then fail(err, code) end
  if opts.quiet then
    for _, c in ipairs(list) do
      local id = as_text(c.Id)
      io.stdout:write(sel.printable(opts["no-trunc"] and id or id:sub(1, 12)), "\n")
    end
    return 0
  end
  if not format or format == "" then format = DEFAULT_TABLE end
  io.stdout:write(M.format(list, format, { no_trunc = opts["no-trunc"] }))
  return 0
end

return M
