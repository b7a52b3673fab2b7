-- Container terminals inside Neovim: the session runs in the editor's process, its fds
-- watched by the editor's libuv loop, output into a terminal buffer from nvim_open_term.
local api, uv = vim.api, vim.loop

local M = {}

-- Sessions by buffer, for the commands and for scripts: M.sessions[buf].session.
M.sessions = {}

local client_cache

local function notify(msg, level)
  vim.notify("dockerpty: " .. msg, level or vim.log.levels.ERROR)
end

-- The engine client, made once; nil and a message shown (unless quiet, as for completion)
-- when the core or the engine is missing.
function M.client(quiet)
  if client_cache then return client_cache end
  local ok, dockerpty = pcall(require, "dockerpty")
  if not ok then
    -- forgotten, so that the next try says the cause again rather than "loop or previous error"
    for name in pairs(package.loaded) do
      if name == "dockerpty" or name:match("^dockerpty%.") and name ~= "dockerpty.nvim" then
        package.loaded[name] = nil
      end
    end
    if not quiet then
      notify("cannot load the core (build it with `make LUA_VERSION=luajit`): " .. tostring(dockerpty):gsub("\n.*", ""))
    end
    return nil
  end
  local c, err = dockerpty.client()
  if not c then
    if not quiet then notify(err) end
    return nil
  end
  client_cache = c
  return c
end

-- The size of the window's text area, which is what Neovim gives its terminal: without
-- the number, sign and fold columns, nor a winbar. Rows or cols may be 0.
local function win_size(win)
  local info = vim.fn.getwininfo(win)[1]
  return info.height, info.width - (info.textoff or 0)
end

-- A step of the session soon, from the editor's main loop; once however often it is asked for.
-- Never a step at once from a terminal callback: its output would go into the terminal while
-- the terminal is still parsing the bytes that made it answer (a cursor position report).
local function wake(state)
  if state.scheduled then return end
  state.scheduled = true
  for _, p in ipairs(state.polls) do p:stop() end
  vim.schedule(function()
    state.scheduled = false
    state.pump()
  end)
end

-- Watches the session's fds with uv poll handles, made anew after every step, so that no
-- handle outlives the fd it watches.
local function watch(state)
  for _, h in ipairs(state.polls) do
    h:stop()
    h:close()
  end
  state.polls = {}
  if state.closed then return end
  for _, w in ipairs(state.session:fds()) do
    local h = uv.new_poll(w[1])
    h:start(w[2], function() wake(state) end)
    state.polls[#state.polls + 1] = h
  end
end

-- Leaving the editor ends every session as wiping its buffer would. The poll handles go
-- first: libuv aborts the editor's exit if one still watches an fd the session closed.
api.nvim_create_autocmd("VimLeavePre", {
  group = api.nvim_create_augroup("dockerpty_leave", { clear = true }),
  callback = function()
    for _, state in pairs(M.sessions) do
      state.closed = true
      watch(state)
      pcall(state.session.close, state.session)
    end
  end,
})

-- Columns that typed text takes when echoed: a character one, a control two (^[).
local function shown_width(text)
  return #text - select(2, text:gsub("[\128-\191]", "")) + select(2, text:gsub("[%z\1-\8\10-\31]", ""))
end

-- What a terminal in cooked mode does for a container without a tty, as the docker CLI's
-- terminal does for it: typed keys are echoed and edited here (backspace, ctrl-u), and a
-- line goes to the container when enter ends it; ctrl-d on an empty line ends the input;
-- ctrl-c and ctrl-\ drop the line and call interrupt("SIGINT") or interrupt("SIGQUIT"),
-- the signal docker's sig-proxy would pass on. Returns the function to feed typed bytes to.
function M.line_discipline(echo, send, eof, interrupt)
  local line = ""
  return function(data)
    for c in data:gmatch(".") do
      if c == "\3" or c == "\28" then -- ctrl-c, ctrl-\
        echo(c == "\3" and "^C\r\n" or "^\\\r\n")
        line = ""
        interrupt(c == "\3" and "SIGINT" or "SIGQUIT")
      elseif c == "\r" or c == "\n" then
        echo("\r\n")
        send(line .. "\n")
        line = ""
      elseif c == "\127" or c == "\b" then
        if line ~= "" then
          local last = line:match("[^\128-\191][\128-\191]*$") or line:sub(-1) -- a whole UTF-8 character
          line = line:sub(1, #line - #last)
          echo(("\b \b"):rep(shown_width(last)))
        end
      elseif c == "\21" then -- ctrl-u
        echo(("\b \b"):rep(shown_width(line)))
        line = ""
      elseif c == "\4" then -- ctrl-d
        if line == "" then eof() else send(line); line = "" end
      else
        line = line .. c
        -- another control (an arrow key's ESC, say) is shown as ^[, as a terminal echoes it
        echo(c:byte() < 32 and c ~= "\t" and "^" .. string.char(c:byte() + 64) or c)
      end
    end
  end
end

-- Opens a session into a new terminal buffer in the current window. spec is what
-- dockerpty.open takes (container, image, command...). The buffer comes once the session
-- has opened: a failure leaves the window as it was.
function M.open(spec, title)
  local client = M.client()
  if not client then return end
  local dockerpty = require "dockerpty"
  local buf, chan
  local state = { polls = {} }
  local function say(text)
    if chan and api.nvim_buf_is_valid(buf) then api.nvim_chan_send(chan, text) end
  end
  local rows, cols = win_size(api.nvim_get_current_win()) -- the window the buffer will fill
  if rows > 0 and cols > 0 then spec.size = { rows, cols } end
  local cooked -- a container without a tty: this side is its terminal's line discipline
  spec.on_output = function(data) say(cooked and data:gsub("\n", "\r\n") or data) end
  spec.on_exit = function(code, _, err)
    if not buf then return end -- closed before its buffer was made
    if code then
      say(("\r\n[dockerpty: exited with code %d]\r\n"):format(code))
    elseif err == "detached" then
      say("\r\n[dockerpty: detached; the container goes on]\r\n")
    elseif err ~= "closed" then
      say(("\r\n[dockerpty: %s]\r\n"):format(tostring(err)))
    end
    vim.b[buf].dockerpty_exit_code = code
  end
  local session, err = dockerpty.open(client, spec)
  if not session then
    notify(err)
    return nil, err
  end
  local ok, eerr = pcall(vim.cmd, "enew")
  if not ok then -- the current buffer cannot be left (nohidden and changes, the cmdline window)
    session:close()
    eerr = tostring(eerr):gsub("^.-(E%d+:)", "%1"):gsub("\n.*", "")
    notify(eerr)
    return nil, eerr
  end
  buf = api.nvim_get_current_buf()
  state.buf = buf
  cooked = not session.tty and M.line_discipline(say, function(bytes) session:write(bytes) end,
    function() vim.schedule(function() if not session.ended then session:close_input(); wake(state) end end) end,
    function(signal)
      -- to the container, as docker's sig-proxy does; an exec has no way to be signalled
      if session.ended or session.exec_id then return end
      local killed, kerr = client:kill(session.container, signal)
      if not killed then notify(kerr) end
    end)
  chan = api.nvim_open_term(buf, {
    on_input = function(_, _, _, data)
      if state.session and not state.session.ended then
        if cooked then cooked(data) else state.session:write(data) end
        wake(state)
      end
    end,
  })
  state.session = session
  M.sessions[buf] = state
  -- a second session with the same title gets what it is attached to in its name too
  local name = "docker://" .. (title or session.container:sub(1, 12))
  if not pcall(api.nvim_buf_set_name, buf, name) then
    pcall(api.nvim_buf_set_name, buf, ("%s (%s)"):format(name, (session.exec_id or session.container):sub(1, 12)))
  end
  vim.b[buf].dockerpty_container = session.container

  function state.pump()
    if state.closed then return end
    session:step()
    watch(state)
  end

  -- The container's pty follows the window showing the buffer.
  local group = api.nvim_create_augroup("dockerpty_" .. buf, { clear = true })
  -- In several windows (any tab), the largest rows and columns, as Neovim sizes its terminal.
  local function follow()
    if session.ended then return end
    local r, c = 0, 0
    for _, w in ipairs(vim.fn.win_findbuf(buf)) do
      local wr, wc = win_size(w)
      r, c = math.max(r, wr), math.max(c, wc)
    end
    if r < 1 or c < 1 then return end -- not shown, or squeezed shut: the size it had holds
    if not session.size or session.size[1] ~= r or session.size[2] ~= c then
      session:resize(r, c)
      wake(state)
    end
  end
  local events = { "VimResized", "WinScrolled", "BufWinEnter", "WinEnter" }
  if vim.fn.has("nvim-0.9") == 1 then events[#events + 1] = "WinResized" end
  api.nvim_create_autocmd(events, { group = group, callback = follow })
  -- the columns in front of the text take from its width
  api.nvim_create_autocmd("OptionSet", { group = group, callback = follow,
    pattern = { "number", "relativenumber", "numberwidth", "signcolumn", "foldcolumn", "statuscolumn", "winbar" } })
  api.nvim_create_autocmd("BufWipeout", {
    group = group, buffer = buf,
    callback = function()
      state.closed = true
      watch(state)
      -- removes a container :DockerRun made, unless the user detached
      local closed, cerr = session:close()
      if closed == nil and cerr then
        notify(("cannot remove container %s: %s"):format(session.container:sub(1, 12), cerr))
      end
      M.sessions[buf] = nil
      pcall(api.nvim_del_augroup_by_id, group)
    end,
  })
  state.pump()
  vim.cmd("startinsert")
  return session
end

local function pick_then(fn)
  local client = M.client()
  if not client then return end
  local list, err = require("dockerpty").select(client, {})
  if not list then return notify(err) end
  if #list == 0 then return notify("no running container", vim.log.levels.WARN) end
  vim.ui.select(list, {
    prompt = "Container",
    format_item = function(c) return ("%s  %s  %s  %s"):format(c.name, c.image, c.status, c.command or "") end,
  }, function(choice)
    if choice then fn(choice.id, choice.name) end
  end)
end

local function resolve(ref)
  local client = M.client()
  if not client then return end
  local id, err = require("dockerpty").resolve(client, ref)
  if not id then notify(err) end
  return id
end

-- :DockerRun IMAGE [CMD...]
function M.run(args)
  local image = table.remove(args, 1)
  return M.open({ image = image, command = #args > 0 and args or nil, remove = true }, image)
end

-- :DockerAttach [CONTAINER]: a running container, as docker attach takes it.
function M.attach(args)
  if args[1] then
    local id = resolve(args[1])
    if not id then return end
    local info, err = M.client():inspect_container(id)
    if not info then return notify(err) end
    if not info.State.Running then return notify("You cannot attach to a stopped container, start it first") end
    if info.State.Paused then return notify("You cannot attach to a paused container, unpause it first") end
    return M.open({ container = id }, args[1])
  end
  pick_then(function(id, name) M.open({ container = id }, name) end)
end

-- :DockerExec [CONTAINER] [CMD...]
function M.exec(args)
  local ref = table.remove(args, 1)
  local cmd = #args > 0 and args or { "sh" }
  if ref then
    local id = resolve(ref)
    if id then return M.open({ container = id, command = cmd }, ref .. ":" .. cmd[1]) end
    return
  end
  pick_then(function(id, name) M.open({ container = id, command = cmd }, name .. ":" .. cmd[1]) end)
end

-- :DockerPs [-a]: the containers, in a scratch buffer.
function M.ps(args)
  local client = M.client()
  if not client then return end
  local all = args[1] == "-a" or args[1] == "--all"
  local list, err = require("dockerpty").select(client, { all = all })
  if not list then return notify(err) end
  local lines = { ("%-14s %-24s %-16s %-24s %s"):format("CONTAINER ID", "NAME", "IMAGE", "STATUS", "COMMAND") }
  for _, c in ipairs(list) do
    lines[#lines + 1] = ("%-14s %-24s %-16s %-24s %s"):format(c.id:sub(1, 12), c.name, c.image, c.status, c.command or "")
  end
  vim.cmd("new")
  local buf = api.nvim_get_current_buf()
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].modifiable = false
  pcall(api.nvim_buf_set_name, buf, "docker://ps")
end

-- Completion: running containers' names, or local images' tags.
function M.complete(kind, lead)
  local client = M.client(true) -- no messages while the user types
  if not client then return {} end
  local out = {}
  if kind == "image" then
    local images = client:request("GET", "/images/json") or {}
    for _, img in ipairs(images) do
      for _, tag in ipairs(type(img.RepoTags) == "table" and img.RepoTags or {}) do
        if tag:sub(1, #lead) == lead then out[#out + 1] = tag end
      end
    end
  else
    for _, c in ipairs(require("dockerpty").select(client, {}) or {}) do
      if c.name:sub(1, #lead) == lead then out[#out + 1] = c.name end
    end
  end
  table.sort(out)
  return out
end

return M
