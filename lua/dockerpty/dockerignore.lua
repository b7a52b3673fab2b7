-- .dockerignore as docker reads it (moby's ignorefile and patternmatcher): comments, "!"
-- exceptions, leading "/" and "./" trimmed, "**", "*", "?", "[...]" and "\" escapes, the
-- last pattern that matches a path or one of its parents deciding. Pure.
local M = {}

-- One UTF-8 character at a time, as Go's scanner and regexp read them; a stray byte is one.
local CHAR = "[%z\1-\127\194-\244][\128-\191]*"

local function chars(s)
  local out = {}
  for c in s:gmatch(CHAR) do out[#out + 1] = c end
  if #table.concat(out) ~= #s then -- bytes the pattern above skips: take them one by one
    out = {}
    for i = 1, #s do out[i] = s:sub(i, i) end
  end
  return out
end

local function codepoint(c)
  local b = c:byte(1)
  if #c == 1 then return b end
  local n = b % (2 ^ (7 - #c))
  for i = 2, #c do n = n * 64 + c:byte(i) % 64 end
  return n
end

-- Go's filepath.Clean for "/"-separated paths.
function M.clean(p)
  if p == "" then return "." end
  local rooted = p:sub(1, 1) == "/"
  local parts = {}
  for part in p:gmatch("[^/]+") do
    if part == ".." then
      if #parts > 0 and parts[#parts] ~= ".." then
        parts[#parts] = nil
      elseif not rooted then
        parts[#parts + 1] = ".."
      end
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  local s = table.concat(parts, "/")
  if rooted then return "/" .. s end
  return s == "" and "." or s
end

-- read(text) -> {pattern, ...}: the lines of a .dockerignore as ignorefile.ReadAll keeps them.
function M.read(text)
  local out, first = {}, true
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    if first then line = line:gsub("^\239\187\191", "") end
    first = false
    if line:sub(1, 1) ~= "#" then
      line = line:gsub("^%s+", ""):gsub("%s+$", "")
      if line ~= "" then
        local invert = line:sub(1, 1) == "!"
        if invert then line = line:sub(2):gsub("^%s+", "") end
        if line ~= "" then
          line = M.clean(line)
          if #line > 1 and line:sub(1, 1) == "/" then line = line:sub(2) end
        end
        out[#out + 1] = (invert and "!" or "") .. line
      end
    end
  end
  return out
end

local SYNTAX = "syntax error in pattern"

-- A bracket expression from chars[i] (just past "["): {negated =, ranges = {{lo, hi}, ...}}
-- and the index past its "]", or nil when filepath.Match would call it malformed.
local function class(cs, i)
  local set = { ranges = {} }
  if cs[i] == "^" then
    set.negated = true
    i = i + 1
  end
  local function one()
    local c = cs[i]
    if c == nil or c == "-" or c == "]" then return nil end
    if c == "\\" then
      i = i + 1
      c = cs[i]
      if c == nil then return nil end
    end
    i = i + 1
    return codepoint(c)
  end
  while true do
    if cs[i] == "]" and #set.ranges > 0 then return set, i + 1 end
    local lo = one()
    if not lo then return nil end
    local hi = lo
    if cs[i] == "-" then
      i = i + 1
      hi = one()
      if not hi or hi < lo then return nil end
    end
    set.ranges[#set.ranges + 1] = { lo, hi }
  end
end

-- A pattern as patternmatcher compiles it: tokens for a matcher of our own (Lua patterns
-- have no alternation), and the shortcut kinds its match() takes before any regexp.
local function compile(p)
  local cs, toks, kind = chars(p), {}, "exact"
  local i = 1
  while i <= #cs do
    local c = cs[i]
    if c == "*" and cs[i + 1] == "*" then
      local at_start = i == 1
      i = i + 2
      if cs[i] == "/" then i = i + 1 end
      if i > #cs then
        if kind == "exact" then
          kind = "prefix"
        else
          toks[#toks + 1] = { "any" }
          kind = "regexp"
        end
      else
        toks[#toks + 1] = { "dirs" }
        kind = "regexp"
      end
      if at_start then kind = "suffix" end
    elseif c == "*" then
      toks[#toks + 1] = { "star" }
      kind = "regexp"
      i = i + 1
    elseif c == "?" then
      toks[#toks + 1] = { "one" }
      kind = "regexp"
      i = i + 1
    elseif c == "[" then
      local set, nexti = class(cs, i + 1)
      if not set then return nil, SYNTAX end
      toks[#toks + 1] = { "class", set }
      kind = "regexp"
      i = nexti
    elseif c == "\\" then
      if cs[i + 1] == nil then return nil, SYNTAX end
      toks[#toks + 1] = { "lit", cs[i + 1] }
      i = i + 2
    else
      toks[#toks + 1] = { "lit", c }
      i = i + 1
    end
  end
  return { toks = toks, kind = kind }
end

local function in_class(set, c)
  local n, hit = codepoint(c), false
  for _, r in ipairs(set.ranges) do
    if n >= r[1] and n <= r[2] then
      hit = true
      break
    end
  end
  return hit ~= (set.negated == true)
end

-- Tokens against a path's characters, anchored at both ends, remembered so that "**"s and
-- "*"s cost the product of the lengths at worst.
local function match_tokens(toks, cs)
  local memo = {}
  local function m(ti, ci)
    local key = ti * (#cs + 2) + ci
    local r = memo[key]
    if r ~= nil then return r end
    local t = toks[ti]
    if not t then
      r = ci > #cs
    elseif t[1] == "lit" then
      r = cs[ci] == t[2] and m(ti + 1, ci + 1)
    elseif t[1] == "one" then
      r = cs[ci] ~= nil and cs[ci] ~= "/" and m(ti + 1, ci + 1)
    elseif t[1] == "class" then
      r = cs[ci] ~= nil and in_class(t[2], cs[ci]) and m(ti + 1, ci + 1)
    elseif t[1] == "star" then -- [^/]*
      r = m(ti + 1, ci) or (cs[ci] ~= nil and cs[ci] ~= "/" and m(ti, ci + 1))
    elseif t[1] == "any" then -- .*, where "." is not a newline, as in Go's regexp
      r = m(ti + 1, ci) or (cs[ci] ~= nil and cs[ci] ~= "\n" and m(ti, ci + 1))
    else -- "dirs": (.*/)?
      r = m(ti + 1, ci)
      local j = ci
      while not r and cs[j] ~= nil and cs[j] ~= "\n" do
        if cs[j] == "/" and m(ti + 1, j + 1) then r = true end
        j = j + 1
      end
    end
    r = r and true or false
    memo[key] = r
    return r
  end
  return m(1, 1)
end

local function pattern_match(p, path)
  if p.kind == "exact" then return path == p.text end
  if p.kind == "prefix" then return path:sub(1, #p.text - 2) == p.text:sub(1, -3) end
  if p.kind == "suffix" then
    local suffix = p.text:sub(3)
    if suffix == "" or path:sub(-#suffix) == suffix then return true end
    return suffix:sub(1, 1) == "/" and path == suffix:sub(2)
  end
  return match_tokens(p.toks, chars(path))
end

local Matcher = {}
Matcher.__index = Matcher

-- new(patterns) -> matcher | nil, message: patterns as read() gives them.
function M.new(patterns)
  local self = setmetatable({ patterns = {}, exclusions = false }, Matcher)
  for _, raw in ipairs(patterns) do
    local p = raw:gsub("^%s+", ""):gsub("%s+$", "")
    if p ~= "" then
      p = M.clean(p)
      local exclusion = false
      if p:sub(1, 1) == "!" then
        if #p == 1 then return nil, 'illegal exclusion pattern: "!"' end
        exclusion = true
        p = p:sub(2)
      end
      local c, err = compile(p)
      if not c then return nil, err end
      c.text, c.exclusion = p, exclusion
      self.patterns[#self.patterns + 1] = c
      if exclusion then self.exclusions = true end
    end
  end
  return self
end

-- matches(path) -> true when path (relative, "/"-separated) is left out: the last pattern
-- that matches it or one of its parent directories decides, as MatchesOrParentMatches does.
function Matcher:matches(path)
  local matched = false
  local parent = path:match("^(.*)/[^/]*$")
  local dirs = {}
  if parent then
    local acc
    for part in (parent .. "/"):gmatch("([^/]*)/") do
      acc = acc and (acc .. "/" .. part) or part
      dirs[#dirs + 1] = acc
    end
  end
  for _, p in ipairs(self.patterns) do
    if p.exclusion == matched then
      local hit = pattern_match(p, path)
      if not hit then
        for _, d in ipairs(dirs) do
          if pattern_match(p, d) then
            hit = true
            break
          end
        end
      end
      if hit then matched = not p.exclusion end
    end
  end
  return matched
end

-- may_include_under(dir) -> whether an exception could bring back something in dir, as
-- docker's walk decides before it skips an excluded directory: by the exception's text.
function Matcher:may_include_under(dir)
  if not self.exclusions then return false end
  local prefix = dir .. "/"
  for _, p in ipairs(self.patterns) do
    if p.exclusion and (p.text .. "/"):sub(1, #prefix) == prefix then return true end
  end
  return false
end

-- filter for tar.directory: what docker's walk leaves out, and the excluded directories it
-- still walks into because an exception names something in them.
function Matcher:filter()
  return function(rel, st)
    if not self:matches(rel) then return true end
    if st.type == "directory" and self:may_include_under(rel) then return "descend" end
    return false
  end
end

-- The patterns with the build's own files kept, as docker's TrimBuildFilesFromExcludes
-- keeps .dockerignore and the Dockerfile (unless it comes from elsewhere).
function M.keep_build_files(patterns, dockerfile)
  local out = {}
  for i, p in ipairs(patterns) do out[i] = p end
  local m = M.new(out)
  if m and m:matches(".dockerignore") then out[#out + 1] = "!.dockerignore" end
  if dockerfile and m and m:matches(dockerfile) then out[#out + 1] = "!" .. dockerfile end
  return out
end

return M
