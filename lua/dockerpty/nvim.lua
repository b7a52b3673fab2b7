-- Container terminals inside Neovim: the session runs in the editor's process, its fds
-- watched by the editor's libuv loop, output into a terminal buffer from nvim_open_term.
local api = vim.api
local uv = vim.uv or vim.loop -- vim.loop is deprecated since 0.10

local M = {}

-- Sessions by buffer, for the commands and for scripts: M.sessions[buf].session.
M.sessions = {}

local client_cache

local function notify(msg, level)
  vim.notify("dockerpty: " .. msg, level or vim.log.levels.ERROR)
end

-- The core's Lua face, loaded once it builds; nil and a message shown (unless quiet) when not.
local function load(quiet)
  local ok, dockerpty = pcall(require, "dockerpty")
  if ok then return dockerpty end
  -- forgotten, so that the next try says the cause again rather than "loop or previous error"
  for name in pairs(package.loaded) do
    if name == "dockerpty" or name:match("^dockerpty%.") and name ~= "dockerpty.nvim" then
      package.loaded[name] = nil
    end
  end
  if not quiet then
    notify("cannot load the core (build it with `make LUA_VERSION=luajit`): " .. tostring(dockerpty):gsub("\n.*", ""))
  end
end

-- The engine client, made once; nil and a message shown (unless quiet, as for completion)
-- when the core or the engine is missing.
function M.client(quiet)
  if client_cache then return client_cache end
  local dockerpty = load(quiet)
  if not dockerpty then return nil end
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
      pcall(state.finish)
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

-- Opens what start(spec) makes (a session of dockerpty.open, or of dockerpty.connect) into a
-- new terminal buffer in the current window, named how.name(session). how.client is the
-- engine's for a local session, and nil for a remote one, which has no container here.
-- The buffer comes once the session has opened: a failure leaves the window as it was.
local function open_term(start, spec, how)
  local client = how.client
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
      say(("\r\n[dockerpty: detached from %s; it goes on]\r\n"):format(state.name or "the container"))
    elseif err ~= "closed" then
      say(("\r\n[dockerpty: %s]\r\n"):format(tostring(err)))
    end
    vim.b[buf].dockerpty_exit_code = code
  end
  local session, err = start(spec)
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
      if session.ended or session.exec_id or not client then return end
      local killed, kerr = client:kill(session.container, signal)
      if not killed then notify(kerr) end
    end)
  chan = api.nvim_open_term(buf, {
    on_input = function(_, _, _, data)
      if not state.session then return end
      if state.session.ended then
        -- once, rather than each key vanishing without a word
        if not state.told_ended then
          state.told_ended = true
          say("\r\n[dockerpty: the session has ended; keys go nowhere (:bwipeout closes the buffer)]\r\n")
        end
        return
      end
      if cooked then cooked(data) else state.session:write(data) end
      wake(state)
    end,
  })
  state.session = session
  M.sessions[buf] = state
  -- a second session with the same name gets what it is attached to in its name too
  local name, other = how.name(session)
  if not pcall(api.nvim_buf_set_name, buf, name) then
    pcall(api.nvim_buf_set_name, buf, ("%s (%s)"):format(name, other or buf))
  end
  if client then
    vim.b[buf].dockerpty_container = session.container
    local info = client:inspect_container(session.container)
    state.name = info and type(info.Name) == "string" and info.Name:gsub("^/", "") or session.container:sub(1, 12)
  else
    state.name = how.label
  end

  -- Ends the session; a container made for it with --rm goes too, unless the user detached.
  function state.finish()
    state.closed = true
    watch(state)
    session:close()
    if how.remove and session.error ~= "detached" and not state.removed then
      state.removed = true
      local gone, rerr, rcode = client:remove_container(session.container, { force = true })
      if not gone and rcode ~= 404 and rcode ~= 409 then -- the engine's AutoRemove was first
        notify(("cannot remove container %s: %s"):format(state.name, rerr))
      end
    end
  end

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
      state.finish()
      M.sessions[buf] = nil
      pcall(api.nvim_del_augroup_by_id, group)
    end,
  })
  if how.redraw and client and session.size and session.tty then
    -- a size one larger first, so that a program idle at its prompt draws it again even
    -- when the size is the one it had: the buffer starts empty otherwise
    client:resize(session.container, session.size[1] + 1, session.size[2] + 1)
    session:resize(session.size[1], session.size[2])
  end
  state.pump()
  vim.cmd("startinsert")
  return session
end

-- Opens a session into a new terminal buffer in the current window. spec is what
-- dockerpty.open takes (container, image, command...).
function M.open(spec, title, how)
  how = how or {}
  local client = M.client()
  if not client then return end
  local dockerpty = require "dockerpty"
  return open_term(function(s) return dockerpty.open(client, s) end, spec, {
    client = client, remove = how.remove, redraw = how.redraw,
    name = function(session)
      return "docker://" .. (title or session.container:sub(1, 12)), (session.exec_id or session.container):sub(1, 12)
    end,
  })
end

-- The words of a command's arguments, split as a shell splits them: a string from the
-- command line, or a list from a script.
local function words(args)
  if type(args) == "table" then return args end
  local list, err = require("dockerpty.session").split_command(args or "")
  if not list then notify(err) end
  return list
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

-- A container the user named, as the docker CLI takes it; nil and a message shown when not.
local function resolve(ref)
  if ref == "" then return notify("invalid container name or ID: value is empty") end
  local client = M.client()
  if not client then return end
  local id, err = require("dockerpty").resolve(client, ref)
  if not id then notify(err) end
  return id
end

-- Pulls ref in a terminal buffer of the current window, its progress drawn as docker draws
-- it, the editor going on meanwhile; after() once it has succeeded. -> true | nil when it did not start
local function pull_in_buffer(client, ref, platform, after)
  local ok, eerr = pcall(vim.cmd, "enew")
  if not ok then return notify((tostring(eerr):gsub("^.-(E%d+:)", "%1"):gsub("\n.*", ""))) end
  local buf = api.nvim_get_current_buf()
  vim.bo[buf].bufhidden = "wipe"
  pcall(api.nvim_buf_set_name, buf, "docker://pull/" .. ref)
  local chan = api.nvim_open_term(buf, {})
  local function say(text)
    if api.nvim_buf_is_valid(buf) then api.nvim_chan_send(chan, (text:gsub("\r?\n", "\r\n"))) end
  end
  local _, cols = win_size(api.nvim_get_current_win())
  local display = require("dockerpty.progress").new(say, { terminal = true, width = cols > 0 and cols or 80 })
  say(("Unable to find image '%s' locally\n"):format(ref))
  local pull, perr = client:pull_later(ref, { platform = platform, on_progress = function(msg) display:add(msg) end })
  if not pull then
    say(("[dockerpty: %s]\n"):format(perr))
    return notify(perr)
  end
  local poll = uv.new_poll(pull:fileno())
  local function stop()
    if poll then poll:stop(); poll:close(); poll = nil end
  end
  api.nvim_create_autocmd("BufWipeout", { buffer = buf, callback = function() stop(); pull:close() end })
  poll:start("r", function()
    vim.schedule(function()
      if not poll then return end
      local sok, done = pcall(pull.step, pull)
      if sok and not done then return end
      stop()
      local id, err = pull:result()
      if not id then
        say(("[dockerpty: %s]\n"):format(err))
        return notify(err)
      end
      if api.nvim_get_current_buf() ~= buf then -- the user went elsewhere: the shell comes here
        local win = vim.fn.win_findbuf(buf)[1]
        if not win then return end
        api.nvim_set_current_win(win)
      end
      after()
    end)
  end)
  return true
end

-- :DockerRun [OPTIONS] IMAGE [CMD...]: the command's flags, read by the command's own code.
-- A buffer is a terminal, so -i and -t are on unless turned off (-t=false). A missing image
-- is pulled first in the buffer (--pull=missing, as docker's), or always, or never.
function M.run(args)
  args = words(args)
  if not args then return end
  local req, err = require("dockerpty.cli").run_request(args, os.getenv)
  if not req then return notify(err) end
  if req.opts.help then return vim.cmd("help :DockerRun") end
  local policy = req.opts.pull or "missing"
  if policy ~= "missing" and policy ~= "always" and policy ~= "never" then
    return notify(('invalid pull option: \'%s\': must be one of "always", "missing" or "never"'):format(policy))
  end
  local client = M.client()
  if not client then return end
  local body = req.body
  body.Tty = req.opts.tty ~= false
  body.OpenStdin = req.opts.interactive ~= false
  if not req.opts.detach then
    body.StdinOnce = body.OpenStdin
    body.AttachStdin, body.AttachStdout, body.AttachStderr = body.OpenStdin, true, true
  end
  local function create_and_open(pulled)
    local made, cerr, ccode = client:create_container(body, { name = req.name, platform = req.platform })
    if not made and not pulled and ccode == 404 and policy == "missing" and cerr:find("No such image", 1, true) then
      return pull_in_buffer(client, req.image, req.platform, function() create_and_open(true) end)
    end
    if not made then return notify(cerr) end
    if req.opts.detach then
      local ok, serr = client:start(made.Id)
      if not ok then
        if req.opts.rm then client:remove_container(made.Id, { force = true }) end
        return notify(serr)
      end
      notify(("started %s"):format(made.Id:sub(1, 12)), vim.log.levels.INFO)
      return made.Id
    end
    local session = M.open({ container = made.Id, detach_keys = req.opts["detach-keys"] }, req.name or req.image,
      { remove = req.opts.rm == true })
    -- a session that could not open leaves nothing behind, --rm or not
    if not session then client:remove_container(made.Id, { force = true }) end
    return session
  end
  if policy == "always" then return pull_in_buffer(client, req.image, req.platform, function() create_and_open(true) end) end
  return create_and_open(false)
end

-- :DockerAttach [CONTAINER]: a running container, as docker attach takes it.
function M.attach(args)
  args = words(args)
  if not args then return end
  if #args > 1 then return notify('"DockerAttach" accepts at most 1 argument') end
  if args[1] then
    local id = resolve(args[1])
    if not id then return end
    local info, err = M.client():inspect_container(id)
    if not info then return notify(err) end
    if not info.State.Running then return notify("You cannot attach to a stopped container, start it first") end
    if info.State.Paused then return notify("You cannot attach to a paused container, unpause it first") end
    return M.open({ container = id }, args[1], { redraw = true })
  end
  pick_then(function(id, name) M.open({ container = id }, name, { redraw = true }) end)
end

-- :DockerExec [CONTAINER] [CMD...]
function M.exec(args)
  args = words(args)
  if not args then return end
  local ref = table.remove(args, 1)
  local cmd = #args > 0 and args or { "sh" }
  if ref then
    local id = resolve(ref)
    if id then return M.open({ container = id, command = cmd }, ref .. ":" .. cmd[1]) end
    return
  end
  pick_then(function(id, name) M.open({ container = id, command = cmd }, name .. ":" .. cmd[1]) end)
end

-- setup({token_file =, cacert =}): the plugin's options, for :DockerConnect.
local config = {}
function M.setup(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("setup: a table of options expected", 2) end
  for k, v in pairs(opts) do
    if k ~= "token_file" and k ~= "cacert" then error(("setup: unknown option %s"):format(tostring(k)), 2) end
    if type(v) ~= "string" then error(("setup: %s: a string expected"):format(k), 2) end
  end
  config = { token_file = opts.token_file, cacert = opts.cacert }
end

-- The gateway's token: the first line of setup()'s token_file or g:dockerpty_token_file, else
-- $DOCKERPTY_TOKEN, else asked for with inputsecret(), which keeps it out of the history and
-- off the screen; an empty answer sends none. -> token | nil (none) | false[, message]
local function gateway_token(url)
  local file = config.token_file or vim.g.dockerpty_token_file
  if type(file) == "string" and file ~= "" then
    local f, err = io.open(vim.fn.expand(file), "rb")
    if not f then return false, ("cannot read the token file %s"):format(err) end
    local text = f:read("*a") or ""
    f:close()
    local token = text:match("^[^\r\n]*"):match("^%s*(.-)%s*$")
    if token == "" then return false, ("the token file %s holds no token"):format(file) end
    return token
  end
  local env = os.getenv("DOCKERPTY_TOKEN")
  if env and env ~= "" then return env end
  local ok, typed = pcall(vim.fn.inputsecret, ("Token for %s: "):format((url:gsub("%?.*", ""))))
  if not ok then return false end -- CTRL-C: nothing to say
  return typed ~= "" and typed or nil
end

-- :DockerConnect URL: a terminal that a gateway hands out (dockerpty serve, or any server of
-- v5.channel.k8s.io), in a buffer as :DockerExec gives a local one.
function M.connect(args)
  args = words(args)
  if not args then return end
  if #args ~= 1 then return notify('"DockerConnect" requires exactly 1 argument: a ws:// or wss:// URL') end
  local url = args[1]
  local dockerpty = load()
  if not dockerpty then return end
  local _, uerr = require("dockerpty.remote").ws_url(url)
  if uerr then return notify(uerr) end -- before the token is asked for
  local token, terr = gateway_token(url)
  if token == false then return terr and notify(terr) end
  -- a control byte would break the request's head: the C client refuses it as a misuse
  if token and token:find("%c") then return notify("the token has a control byte") end
  local cacert = config.cacert or vim.g.dockerpty_cacert
  cacert = type(cacert) == "string" and cacert ~= "" and vim.fn.expand(cacert) or nil
  return open_term(function(spec)
    return dockerpty.connect(url, { token = token, cacert = cacert, size = spec.size,
      on_output = spec.on_output, on_exit = spec.on_exit })
  end, {}, { name = function() return url end, label = (url:gsub("%?.*", "")) })
end

-- :DockerPs [-a] [-f K=V]
function M.ps(args) return require("dockerpty.nvim.ps").open(args) end

-- Completion: the argument under the cursor, by its place. kind "image": the first word
-- that is neither a flag nor a flag's value; "container": the first word. After them comes
-- the container's command, which is not completed.
function M.complete(kind, lead, line, pos)
  local before = (line or ""):sub(1, pos or #(line or ""))
  local list = require("dockerpty.session").split_command(before:gsub("^%s*%S+", "", 1)) or {}
  if lead ~= "" then table.remove(list) end -- the word being typed
  local place = #list + 1
  if kind == "image" then
    local value_flags = {} -- "-e", "--env": the flags whose value is the next word
    for _, f in ipairs(require("dockerpty.cli").flags_of("run")) do
      if f.kind ~= "bool" then
        value_flags["--" .. f.long] = true
        if f.short then value_flags["-" .. f.short] = true end
      end
    end
    place = 1
    local i = 1
    while i <= #list do
      local w = list[i]
      if w:sub(1, 1) ~= "-" or w == "-" then place = place + 1; break end
      if value_flags[w] then -- "-e X": X is the flag's
        if i == #list then place = 0 end -- and is the word being typed
        i = i + 1
      end
      i = i + 1
    end
    if lead:sub(1, 1) == "-" then return {} end
  end
  if place ~= 1 then return {} end
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
