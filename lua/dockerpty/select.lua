-- Finding containers: by name, id or unique id prefix; by pattern, label, status or image;
-- a fuzzy matcher, and the terminal picker built on them.
local core = require "dockerpty.core"

local SIGWINCH, SIGTSTP, SIGCONT = core.SIGWINCH, core.SIGTSTP, core.SIGCONT

local M = {}

-- One container summary as the picker and hosts use it.
local function summary(c)
  local name = (c.Names and c.Names[1] or ""):gsub("^/", "")
  return {
    id = c.Id, name = name, image = c.Image, state = c.State, status = c.Status,
    command = c.Command, labels = c.Labels, created = c.Created,
  }
end

local function matches_label(labels, want)
  local k, v = want:match("^([^=]+)=(.*)$")
  if k then return labels and labels[k] == v end
  return labels and labels[want] ~= nil
end

-- Case-insensitive subsequence match: a score (higher is better) or nil. Letters in a row
-- and letters at the start of a word count more. A pure part.
function M.fuzzy_score(query, text)
  if query == "" then return 0 end
  query, text = query:lower(), text:lower()
  local score, ti, run = 0, 1, 0
  for qi = 1, #query do
    local c = query:sub(qi, qi)
    local found = text:find(c, ti, true)
    if not found then return nil end
    if found == ti and qi > 1 then run = run + 1 else run = 0 end
    score = score + 1 + run * 2
    if found == 1 or text:sub(found - 1, found - 1):match("[%s/_%-.:]") then score = score + 3 end
    ti = found + 1
  end
  return score - #text * 0.01
end

-- What a fuzzy query is matched against, and the order of what it matched: best first.
local function fuzzy_text(s) return s.name .. " " .. s.image .. " " .. (s.command or "") end
local function best_first(list)
  table.sort(list, function(a, b)
    if a.score ~= b.score then return a.score > b.score end
    return a.name < b.name
  end)
end

-- candidates(client, {all =, name =, label =, status =, image =, text =})
--   -> list of {id, name, image, state, status, command, labels, created} | nil, message, code
-- name is a Lua pattern; label "k" or "k=v"; status a state ("running", "exited"...);
-- image a name or its start; text a fuzzy query, best match first. Running ones only unless
-- all is set or status asks for others.
function M.candidates(client, query)
  query = query or {}
  -- the status goes to the engine's filter too, so that one it does not know is its error:
  -- nil, "Invalid filter 'status=bogus'", 400
  local list, err, code = client:containers { all = query.all or query.status ~= nil,
    filters = query.status ~= nil and { status = { tostring(query.status) } } or nil }
  if not list then return nil, err, code end
  local out = {}
  for _, c in ipairs(list) do
    local s = summary(c)
    local named, found = true, true
    if query.name then named, found = pcall(string.find, s.name, query.name) end
    if not named then
      return nil, ("name: not a Lua pattern: %s"):format(tostring(found):gsub("^[^:]*:%d+: ", "")), "config"
    end
    local ok = found ~= nil
      and (not query.label or matches_label(s.labels, query.label))
      and (not query.status or s.state == query.status)
      and (not query.image or s.image == query.image or s.image:sub(1, #query.image + 1) == query.image .. ":")
    if ok and query.text then
      s.score = M.fuzzy_score(query.text, fuzzy_text(s))
      ok = s.score ~= nil
    end
    if ok then out[#out + 1] = s end
  end
  if query.text then best_first(out) end
  return out
end

-- resolve(client, ref) -> full id | nil, message, code: ref is a name, a full id or a
-- unique id prefix; an ambiguous prefix names every candidate.
function M.resolve(client, ref)
  if ref == "" then return nil, "invalid container name or ID: value is empty", 400 end -- as docker's client
  local list, err, code = client:containers { all = true }
  if not list then return nil, err, code end
  local name = ref:sub(1, 1) == "/" and ref or "/" .. ref -- "/web" is web, as the engine reads it
  local by_prefix = {}
  for _, c in ipairs(list) do
    if c.Id == ref then return c.Id end
    for _, n in ipairs(c.Names or {}) do
      if n == name then return c.Id end
    end
    if ref ~= "" and c.Id:sub(1, #ref) == ref then by_prefix[#by_prefix + 1] = summary(c) end
  end
  if #by_prefix == 1 then return by_prefix[1].id end
  if #by_prefix > 1 then
    local names = {}
    for _, s in ipairs(by_prefix) do names[#names + 1] = s.id:sub(1, 12) .. " (" .. s.name .. ")" end
    table.sort(names)
    return nil, ("%q matches %d containers: %s"):format(ref, #by_prefix, table.concat(names, ", ")),
      "ambiguous"
  end
  return nil, "No such container: " .. ref, 404
end

-- Go's strconv.Quote escapes, as the docker CLI shows a command.
local ESCAPES = { ["\7"] = "\\a", ["\8"] = "\\b", ["\12"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t", ["\11"] = "\\v", ["\\"] = "\\\\", ['"'] = '\\"' }

-- s with its control characters (C0, DEL and, in UTF-8, C1) written as Go writes them in a
-- quoted string, so that what a container holds (a command with newlines or escapes) cannot
-- move the cursor or reprogram the terminal; with quote, backslashes and double quotes too,
-- for the inside of "...", as strconv.Quote does.
function M.printable(s, quote)
  s = s:gsub(quote and '[%c\127\\"]' or "[%c\127]", function(c)
    return ESCAPES[c] or ("\\x%02x"):format(c:byte())
  end)
  return (s:gsub("\194([\128-\159])", function(c) return ("\\u%04x"):format(c:byte()) end))
end

-- Characters in UTF-8 text (bytes that do not continue one).
local function width(s)
  return #s - select(2, s:gsub("[\128-\191]", ""))
end

-- s cut or padded to n characters.
local function clip(s, n)
  s = M.printable(tostring(s or ""))
  local w = width(s)
  if w <= n then return s .. string.rep(" ", n - w) end
  local i, kept = 1, 0
  while kept < n - 1 do -- to the start of the (n)th character, room for the ellipsis
    i = i + 1
    while (s:byte(i) or 0) >= 0x80 and s:byte(i) < 0xC0 do i = i + 1 end
    kept = kept + 1
  end
  return s:sub(1, i - 1) .. "…"
end

-- s without its last character.
local function drop_last(s)
  local i = #s
  while i > 1 and s:byte(i) >= 0x80 and s:byte(i) < 0xC0 do i = i - 1 end
  return s:sub(1, i - 1)
end

-- The picker's screen: a query line, then one line per candidate, the chosen one reversed.
local function render(out, query, list, sel, rows, cols, all)
  query = M.printable(query)
  local lines = { "\27[H\27[2J", "pick a container> ", query, "\r\n" }
  local shown = math.max(1, rows - 2)
  local first = math.max(1, sel - shown + 1)
  if #list == 0 then lines[#lines + 1] = all and "  (no container matches)\r\n" or "  (no running container matches)\r\n" end
  local w = { 4, 5, 6 }
  for _, c in ipairs(list) do
    w[1] = math.min(32, math.max(w[1], width(M.printable(c.name))))
    w[2] = math.min(24, math.max(w[2], width(M.printable(c.image or ""))))
    w[3] = math.min(24, math.max(w[3], width(M.printable(c.status or ""))))
  end
  for i = first, math.min(#list, first + shown - 1) do
    local c = list[i]
    local line = ("%s  %s  %s  %s"):format(clip(c.name, w[1]), clip(c.image, w[2]), clip(c.status, w[3]),
      c.command or "")
    line = clip(line, cols - 2)
    if i == sel then
      lines[#lines + 1] = "\27[7m> " .. line .. "\27[0m\r\n"
    else
      lines[#lines + 1] = "  " .. line .. "\r\n"
    end
  end
  lines[#lines + 1] = ("\27[1;%dH"):format(18 + width(query) + 1)
  out:write(table.concat(lines))
  out:flush()
end

local ARROWS = { A = "up", B = "down", C = "right", D = "left" }

-- Splits what the keyboard sent into keys: "up", "down", "left", "right", "enter", "escape",
-- "backspace", "cancel" or a printable character (a whole UTF-8 one). An escape with nothing
-- after it is the escape key; any other key's escape sequence (Delete, Page Down, F1, an
-- arrow with ctrl) or an alt-key is nothing, but a modified arrow is still an arrow.
function M.keys(bytes)
  local keys, i, n = {}, 1, #bytes
  while i <= n do
    local c, b = bytes:sub(i, i), bytes:byte(i)
    if c == "\27" then
      local intro = bytes:sub(i + 1, i + 1)
      local params, final
      if intro == "[" or intro == "O" then params, final = bytes:match("^([%d;:]*)([\64-\126])", i + 2) end
      if final == "[" and bytes:find("^%a", i + 3) then
        i = i + 4 -- the Linux console's F1 to F5: ESC [ [ A to E
      elseif final then
        keys[#keys + 1] = ARROWS[final]
        i = i + 2 + #params + 1
      elseif intro == "" or intro == "\27" or intro == "[" or intro == "O" then
        keys[#keys + 1] = "escape" -- alone, or a sequence cut off: what follows is typed
        i = i + 1
      else
        i = i + 2 -- alt and a key
        while (bytes:byte(i) or 0) >= 0x80 and bytes:byte(i) < 0xC0 do i = i + 1 end
      end
    elseif b >= 0xC0 then
      local j = i + 1
      while j <= n and j <= i + 3 and bytes:byte(j) >= 0x80 and bytes:byte(j) < 0xC0 do j = j + 1 end
      keys[#keys + 1] = bytes:sub(i, j - 1)
      i = j
    else
      if c == "\r" or c == "\n" then keys[#keys + 1] = "enter"
      elseif c == "\127" or c == "\8" then keys[#keys + 1] = "backspace"
      elseif c == "\3" or c == "\4" then keys[#keys + 1] = "cancel"
      elseif c == "\16" then keys[#keys + 1] = "up"
      elseif c == "\14" then keys[#keys + 1] = "down"
      elseif b >= 32 and b < 0x80 then keys[#keys + 1] = c end
      i = i + 1
    end
  end
  return keys
end

-- Whether bytes end inside what one key sends (an escape sequence, a UTF-8 character),
-- whose rest may still be on its way.
function M.unfinished(bytes)
  if bytes:find("\27[%[O]?[%d;:]*$") or bytes:find("\27%[%[$") then return true end
  local lead, rest = bytes:match("([\192-\255])([\128-\191]*)$")
  if not lead then return false end
  return #rest < (lead:byte() >= 0xF0 and 3 or lead:byte() >= 0xE0 and 2 or 1)
end

-- pick(client, {query =, stdin =, stdout =}) -> the chosen container's summary
--   | nil, "cancelled" | nil, message, code
-- Typing filters the running containers (fuzzy), arrows move, enter picks, escape cancels.
function M.pick(client, opts)
  opts = opts or {}
  local input = opts.stdin or io.stdin
  local out = opts.stdout or io.stdout
  local in_fd = core.fileno(input)
  if not core.isatty(in_fd) then return nil, "the picker needs a terminal on stdin", "terminal" end
  local all, err, code = M.candidates(client, opts.query)
  if not all then return nil, err, code end
  local out_fd = core.fileno(out)
  -- Signals come as bytes on a pipe: a resize draws again; a stop gives the screen and the
  -- terminal back until the resume; any other ends the picker with them put back, then goes
  -- on to do what it would have done. On before raw mode, so that none finds it unguarded.
  local sig_fd, signals_before = core.signals(true)
  local mode, merr = core.raw(in_fd)
  if not mode then
    if not signals_before then core.signals(false) end
    return nil, merr, "terminal"
  end
  local text, sel, result, why, signal = opts.text or "", 1, nil, nil, nil
  local on_alt, why_code = false, nil -- on the alternate screen: left while stopped
  local function take_screen()
    local ok, rerr = mode:reapply()
    if not ok then why, why_code = rerr, "terminal"; return nil end
    if not on_alt then out:write("\27[?1049h"); on_alt = true end
    return ""
  end
  local function next_bytes()
    local ready = core.poll({ { in_fd, "r" }, { sig_fd, "r" } })
    if ready[sig_fd] then
      for _, sig in ipairs(core.pending_signals()) do
        if sig == SIGTSTP then
          out:write("\27[?1049l") -- the handler gave the terminal back already
          out:flush()
          on_alt = false
          core.suspend()
          if not take_screen() then return nil end -- the SIGCONT that follows changes nothing
        elseif sig == SIGCONT then
          if not take_screen() then return nil end
        elseif sig ~= SIGWINCH then
          signal = sig
          return nil
        end
      end
    end
    if ready[in_fd] then return core.read(in_fd, 256, 0) end
    return ""
  end
  -- the containers text matches, best first
  local function matching(query)
    local list = {}
    for _, c in ipairs(all) do
      local s = M.fuzzy_score(query, fuzzy_text(c))
      if s then c.score = s; list[#list + 1] = c end
    end
    if query ~= "" then best_first(list) end
    return list
  end
  local ok, perr = pcall(function()
    out:write("\27[?1049h") -- the alternate screen: the user's own comes back untouched
    on_alt = true
    while true do
      local list, listed = matching(text), text
      sel = math.max(1, math.min(sel, #list))
      local rows, cols = core.winsize(out_fd)
      render(out, text, list, sel, rows or 24, cols or 80, opts.query and opts.query.all)
      local bytes = next_bytes()
      if bytes == nil then why = why or "cancelled"; return end
      -- an escape may be the start of an arrow key, a character may come in pieces: give
      -- the rest a moment
      while M.unfinished(bytes) do
        local more = core.read(in_fd, 256, 50)
        if not more or more == "" then break end
        bytes = bytes .. more
      end
      for _, k in ipairs(M.keys(bytes)) do
        if text ~= listed and (k == "enter" or k == "up" or k == "down") then
          -- typed and moved in one read (a paste, a fast typist): the list as typed so far
          list, listed = matching(text), text
          sel = math.max(1, math.min(sel, #list))
        end
        if k == "enter" then
          if list[sel] then result = list[sel]; return end
        elseif k == "escape" or k == "cancel" then why = "cancelled"; return
        elseif k == "up" then sel = sel - 1
        elseif k == "down" then sel = sel + 1
        elseif k == "backspace" then text = drop_last(text)
        elseif #k == 1 or k:byte() >= 0xC0 then text = text .. k; sel = 1 end -- a character
      end
    end
  end)
  out:write("\27[?1049l")
  out:flush()
  mode:restore()
  if not signals_before then core.signals(false) end
  if signal then core.raise(signal) end
  if not ok then error(perr, 0) end
  if result then return result end
  return nil, why or "cancelled", why_code
end

return M
