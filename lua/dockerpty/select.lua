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

-- candidates(client, {all =, name =, label =, status =, image =, text =})
--   -> list of {id, name, image, state, status, command, labels, created} | nil, message, code
-- name is a Lua pattern; label "k" or "k=v"; status a state ("running", "exited"...);
-- image a name or its start; text a fuzzy query, best match first. Running ones only unless
-- all is set or status asks for others.
function M.candidates(client, query)
  query = query or {}
  local list, err, code = client:containers { all = query.all or query.status ~= nil }
  if not list then return nil, err, code end
  local out = {}
  for _, c in ipairs(list) do
    local s = summary(c)
    local ok = (not query.name or s.name:find(query.name) ~= nil)
      and (not query.label or matches_label(s.labels, query.label))
      and (not query.status or s.state == query.status)
      and (not query.image or s.image == query.image or s.image:sub(1, #query.image + 1) == query.image .. ":")
    if ok and query.text then
      s.score = M.fuzzy_score(query.text, s.name .. " " .. s.image .. " " .. (s.command or ""))
      ok = s.score ~= nil
    end
    if ok then out[#out + 1] = s end
  end
  if query.text then
    table.sort(out, function(a, b)
      if a.score ~= b.score then return a.score > b.score end
      return a.name < b.name
    end)
  end
  return out
end

-- resolve(client, ref) -> full id | nil, message, code: ref is a name, a full id or a
-- unique id prefix; an ambiguous prefix names every candidate.
function M.resolve(client, ref)
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

local function clip(s, n)
  s = tostring(s or "")
  if #s <= n then return s .. string.rep(" ", n - #s) end
  return s:sub(1, n - 1) .. "…"
end

-- The picker's screen: a query line, then one line per candidate, the chosen one reversed.
local function render(out, query, list, sel, rows, cols)
  local lines = { "\27[H\27[2J", "pick a container> ", query, "\r\n" }
  local shown = math.max(1, rows - 2)
  local first = math.max(1, sel - shown + 1)
  if #list == 0 then lines[#lines + 1] = "  (no running container matches)\r\n" end
  local w = { 4, 5, 6 }
  for _, c in ipairs(list) do
    w[1] = math.min(32, math.max(w[1], #c.name))
    w[2] = math.min(24, math.max(w[2], #(c.image or "")))
    w[3] = math.min(24, math.max(w[3], #(c.status or "")))
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
  lines[#lines + 1] = ("\27[1;%dH"):format(18 + #query + 1)
  out:write(table.concat(lines))
  out:flush()
end

-- Splits what the keyboard sent into keys: "up", "down", "enter", "escape", "backspace",
-- "cancel" or a printable character. An escape with nothing after it is the escape key.
function M.keys(bytes)
  local keys, i = {}, 1
  while i <= #bytes do
    local c = bytes:sub(i, i)
    local seq = bytes:match("^\27[%[O]([A-D])", i)
    if seq then
      keys[#keys + 1] = ({ A = "up", B = "down", C = "right", D = "left" })[seq]
      i = i + 3
    elseif c == "\27" then
      keys[#keys + 1] = "escape"
      i = i + 1
    else
      if c == "\r" or c == "\n" then keys[#keys + 1] = "enter"
      elseif c == "\127" or c == "\8" then keys[#keys + 1] = "backspace"
      elseif c == "\3" or c == "\4" then keys[#keys + 1] = "cancel"
      elseif c == "\16" then keys[#keys + 1] = "up"
      elseif c == "\14" then keys[#keys + 1] = "down"
      elseif c:byte() >= 32 then keys[#keys + 1] = c end
      i = i + 1
    end
  end
  return keys
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
  local ok, perr = pcall(function()
    out:write("\27[?1049h") -- the alternate screen: the user's own comes back untouched
    on_alt = true
    while true do
      local list = {}
      for _, c in ipairs(all) do
        local s = M.fuzzy_score(text, c.name .. " " .. c.image .. " " .. (c.command or ""))
        if s then c.score = s; list[#list + 1] = c end
      end
      if text ~= "" then
        table.sort(list, function(a, b)
          if a.score ~= b.score then return a.score > b.score end
          return a.name < b.name
        end)
      end
      sel = math.max(1, math.min(sel, #list))
      local rows, cols = core.winsize(out_fd)
      render(out, text, list, sel, rows or 24, cols or 80)
      local bytes = next_bytes()
      if bytes == nil then why = why or "cancelled"; return end
      -- a lone escape may be the start of an arrow key: give the rest a moment
      if bytes == "\27" then bytes = bytes .. (core.read(in_fd, 256, 50) or "") end
      for _, k in ipairs(M.keys(bytes)) do
        if k == "enter" then
          if list[sel] then result = list[sel]; return end
        elseif k == "escape" or k == "cancel" then why = "cancelled"; return
        elseif k == "up" then sel = sel - 1
        elseif k == "down" then sel = sel + 1
        elseif k == "backspace" then text = text:sub(1, -2)
        elseif #k == 1 then text = text .. k; sel = 1 end
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
