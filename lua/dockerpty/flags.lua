-- Command-line flags as the docker CLI takes them: -it, -e X=1, -eX=1, --env X=1,
-- --env=X=1, --rm, --sig-proxy=false, "--" to end them. A pure part: no I/O.
local M = {}

-- What docker's flags (Go's strconv.ParseBool) take as a bool's value.
local BOOLS = {}
for _, w in ipairs { "1", "t", "T", "TRUE", "true", "True" } do BOOLS[w] = true end
for _, w in ipairs { "0", "f", "F", "FALSE", "false", "False" } do BOOLS[w] = false end

-- A flag: { short = "e", long = "env", kind = "bool" | "string" | "int" | "list", help = "..." },
-- meta naming its value in --help where the kind would not say it ("bytes", "decimal").
-- parse(args, flags, interspersed) -> values (by long name), positionals | nil, message.
-- Without interspersed, the first positional ends the flags (docker run IMAGE CMD -x).
function M.parse(args, flags, interspersed)
  local by_short, by_long = {}, {}
  for _, f in ipairs(flags) do
    if f.short then by_short[f.short] = f end
    by_long[f.long] = f
  end
  local values, positionals = {}, {}
  local function set(f, v, shown)
    if f.kind == "bool" then
      local b = v == nil or BOOLS[v]
      if b == nil then
        return nil, ('invalid argument "%s" for "%s" flag: expected true or false'):format(v, shown)
      end
      values[f.long] = b
    elseif f.kind == "int" then
      local n = v:match("^[+-]?%d+$") and tonumber(v)
      if not n then
        return nil, ('invalid argument "%s" for "%s" flag: expected a whole number'):format(v, shown)
      end
      values[f.long] = n
    elseif f.kind == "list" then
      values[f.long] = values[f.long] or {}
      table.insert(values[f.long], v)
    else
      values[f.long] = v
    end
    return true
  end

  local i, only_positionals = 1, false
  while i <= #args do
    local a = args[i]
    if only_positionals or a == "-" or a:sub(1, 1) ~= "-" then
      positionals[#positionals + 1] = a
      if not interspersed then only_positionals = true end
    elseif a == "--" then
      only_positionals = true
    elseif a:sub(1, 2) == "--" then
      local name, v = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local f = by_long[name]
      if not f then return nil, "unknown flag: --" .. name end
      if f.kind ~= "bool" and v == nil then
        i = i + 1
        v = args[i]
        if v == nil then return nil, "flag needs an argument: --" .. name end
      end
      local ok, err = set(f, v, "--" .. name)
      if not ok then return nil, err end
    else
      local j = 2
      while j <= #a do
        local c = a:sub(j, j)
        local f = by_short[c]
        if not f then return nil, ("unknown shorthand flag: '%s' in %s"):format(c, a) end
        if f.kind == "bool" then
          local v = a:match("^=(.*)$", j + 1)
          local ok, err = set(f, v, "-" .. c)
          if not ok then return nil, err end
          if v then break end
          j = j + 1
        else
          local v = a:sub(j + 1)
          local eq = v:sub(1, 1) == "="
          if eq then v = v:sub(2) end -- "-w=" is an empty value, as docker reads it
          if v == "" and not eq then
            i = i + 1
            v = args[i]
            if v == nil then return nil, ("flag needs an argument: '%s' in %s"):format(c, a) end
          end
          local ok, err = set(f, v, "-" .. c)
          if not ok then return nil, err end
          break
        end
      end
    end
    i = i + 1
  end
  for _, f in ipairs(flags) do
    if values[f.long] == nil and f.default ~= nil then values[f.long] = f.default end
  end
  return values, positionals
end

-- The flags' lines for --help, aligned.
function M.help(flags)
  local lines, width = {}, 0
  local function left(f)
    local s = f.short and ("-" .. f.short .. ", ") or "    "
    s = s .. "--" .. f.long
    if f.kind ~= "bool" then s = s .. " " .. (f.meta or f.kind) end
    return s
  end
  for _, f in ipairs(flags) do width = math.max(width, #left(f)) end
  for _, f in ipairs(flags) do
    lines[#lines + 1] = ("  %-" .. width .. "s   %s"):format(left(f), f.help)
  end
  return table.concat(lines, "\n")
end

return M
