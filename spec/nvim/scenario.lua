-- Run inside headless Neovim by spec/nvim_spec.lua: drives :DockerRun like a user, and writes
-- what it saw to $DOCKERPTY_NVIM_RESULT, one key=value a line.
local api = vim.api
local out = assert(io.open(os.getenv("DOCKERPTY_NVIM_RESULT"), "w"))
local function log(k, v)
  out:write(k, "=", tostring(v), "\n")
  out:flush()
end

vim.cmd("runtime plugin/dockerpty.lua")
vim.o.columns, vim.o.lines = 100, 30
local uv = vim.uv or vim.loop
local label = assert(os.getenv("DOCKERPTY_NVIM_LABEL"))
local run = "DockerRun --rm -l " .. label .. " " -- this run's containers, removed as docker's --rm removes

local function text(buf)
  return table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

-- What the plugin says, kept to be looked at.
local notices = {}
vim.notify = function(msg) notices[#notices + 1] = msg end
local function said(what)
  for _, m in ipairs(notices) do if m:find(what, 1, true) then return true end end
  return false
end

-- What the plugin's sessions are doing, for a timeout's message.
local function sessions_state()
  local lines = {}
  for b, st in pairs(require("dockerpty.nvim").sessions) do
    local se, fds = st.session, {}
    local ready = require("dockerpty.core").poll(se:fds(), 0)
    for _, w in ipairs(se:fds()) do fds[#fds + 1] = w[1] .. w[2] .. (ready[w[1]] and " ready" or "") end
    lines[#lines + 1] = ("buffer %d: ended=%s stream_ended=%s scheduled=%s polls=%d fds={%s} output=%s text=%s"):format(
      b, tostring(se.ended), tostring(se.stream_ended), tostring(st.scheduled), #st.polls,
      table.concat(fds, ","), ("%q"):format(se:output():sub(-100)):gsub("\n", "n"),
      ("%q"):format(text(b):sub(-100)):gsub("\n", "n"))
  end
  return (#lines > 0 and table.concat(lines, "; ") or "no session") .. "; said: " .. table.concat(notices, "|")
end

local co
local function wait_for(what, cond, seconds)
  local deadline = uv.now() + (seconds or 20) * 1000
  while true do
    local r = cond()
    if r then return r end
    if uv.now() > deadline then error("timed out waiting for " .. what .. ": " .. sessions_state(), 0) end
    vim.defer_fn(function() assert(coroutine.resume(co)) end, 20)
    coroutine.yield()
  end
end

local function last_size(buf)
  local r, c
  for a, b in text(buf):gmatch("S=(%d+) (%d+)=") do r, c = a, b end
  return r and (r .. " " .. c)
end

-- An Ex command as a user gives it: from Normal mode, left with CTRL-\ CTRL-N.
local function command(cmd)
  if api.nvim_get_mode().mode == "t" then
    api.nvim_input("<C-Bslash><C-n>")
    wait_for("Normal mode", function() return api.nvim_get_mode().mode:sub(1, 1) == "n" end)
  end
  vim.cmd(cmd)
end

-- Keys as a user types them: into the terminal, so once Terminal mode is on. A command run
-- from a callback, as this scenario's are, only asks for it.
local function type_keys(keys)
  vim.cmd("startinsert")
  wait_for("Terminal mode", function() return api.nvim_get_mode().mode == "t" end)
  api.nvim_input(keys)
end

-- Asks the shell in buf for its size until it is want; the size it last gave.
local function container_size(buf, what, want)
  local got
  wait_for(what, function()
    type_keys("echo S=$(stty size)=<CR>")
    vim.wait(200)
    got = last_size(buf)
    return got == want
  end)
  return got
end

co = coroutine.create(function()
  local ok, err = pcall(function()
    -- a shell, typed into and read back
    command(run .. "busybox sh")
    local buf = api.nvim_get_current_buf()
    local win = api.nvim_get_current_win()
    log("container", vim.b[buf].dockerpty_container)
    wait_for("the prompt", function() return text(buf):find("/ #", 1, true) end)
    type_keys("echo typed-$((6*7))<CR>")
    wait_for("the typed command's output", function() return text(buf):find("typed%-42") end)
    log("typed", "ok")

    -- the pty follows the window
    type_keys("echo S=$(stty size)=<CR>")
    local want = api.nvim_win_get_height(win) .. " " .. api.nvim_win_get_width(win)
    log("size_window", want)
    log("size_container", wait_for("stty size", function() return last_size(buf) end))
    vim.o.lines, vim.o.columns = 40, 120
    want = api.nvim_win_get_height(win) .. " " .. api.nvim_win_get_width(win)
    log("resized_window", want)
    log("resized_container", container_size(buf, "the resized size", want))

    -- with line numbers and a sign column, the pty gets the text area's width
    vim.wo[win].number = true
    vim.wo[win].signcolumn = "yes"
    local info = vim.fn.getwininfo(win)[1]
    want = info.height .. " " .. (info.width - info.textoff)
    log("numbered_window", want)
    log("numbered_textoff", info.textoff)
    log("numbered_container", container_size(buf, "the numbered size", want))

    -- in two windows, the pty takes the larger one's size, as Neovim's terminal does
    command("vsplit")
    command("vertical resize 19")
    command("wincmd p") -- back to the wide one, where the user types
    local wide = 0
    for _, w in ipairs(vim.fn.win_findbuf(buf)) do
      local i = vim.fn.getwininfo(w)[1]
      if i.width - i.textoff > wide then wide, want = i.width - i.textoff, i.height .. " " .. (i.width - i.textoff) end
    end
    log("split_window", want)
    log("split_container", container_size(buf, "the split size", want))
    command("wincmd p | close")
    api.nvim_set_current_win(win)

    -- a window squeezed to no rows keeps its last size, with no error
    vim.v.errmsg = ""
    vim.o.winminheight = 0
    command("split | enew | wincmd _")
    log("squeezed_height", api.nvim_win_get_height(win))
    vim.wait(300)
    command("close")
    vim.o.winminheight = 1
    api.nvim_set_current_win(win)
    log("squeezed_errmsg", vim.v.errmsg == "" and "none" or vim.v.errmsg)

    -- the exit code shows
    type_keys("exit 3<CR>")
    wait_for("the exit", function() return text(buf):find("exited with code 3", 1, true) end)
    log("exit_code", vim.b[buf].dockerpty_exit_code)
    -- keys typed once it has ended are answered, not lost
    type_keys("x")
    wait_for("the ended notice", function() return text(buf):find("the session has ended", 1, true) end)
    log("ended_notice", "ok")
    command("bwipeout!")
    log("wiped", "ok")

    -- wiping a running session's buffer ends it and removes the container
    command(run .. "busybox sh")
    buf = api.nvim_get_current_buf()
    log("container2", vim.b[buf].dockerpty_container)
    wait_for("the second prompt", function() return text(buf):find("/ #", 1, true) end)
    command("bwipeout!")

    -- detaching says so, and leaves the container
    local name3 = "dockerpty-spec-detached-" .. label:sub(-12)
    command(run .. "--name " .. name3 .. " busybox sh")
    buf = api.nvim_get_current_buf()
    log("container3", vim.b[buf].dockerpty_container)
    wait_for("the third prompt", function() return text(buf):find("/ #", 1, true) end)
    type_keys("<C-p><C-q>")
    wait_for("the detach notice", function() return text(buf):find("detached", 1, true) end)
    log("detached", text(buf):find("detached from " .. name3 .. "; it goes on", 1, true) and "ok" or text(buf))
    command("bwipeout!")

    -- words in quotes stay one, and the command's flags are taken, with its errors
    command(run .. [[-e X=1 -w /etc busybox sh -c "echo 'a  b' $X $(pwd); exit 2"]])
    buf = api.nvim_get_current_buf()
    wait_for("the quoted command's exit", function() return text(buf):find("exited with code 2", 1, true) end)
    log("quoted", text(buf):find("a  b 1 /etc", 1, true) and "ok" or text(buf))
    command("bwipeout!")
    command(run .. [[-t=false busybox sh -c "[ -t 1 ] && echo on-a-tty || echo no-tty"]])
    buf = api.nvim_get_current_buf()
    wait_for("the no-tty command's exit", function() return text(buf):find("exited with code 0", 1, true) end)
    log("no_tty", text(buf):find("no-tty", 1, true) and "ok" or text(buf))
    command("bwipeout!")
    local before = #api.nvim_list_bufs()
    command("DockerRun --bogus busybox")
    log("bad_flag", said("dockerpty: unknown flag: --bogus") and #api.nvim_list_bufs() == before and "ok"
      or table.concat(notices, "|"))

    -- an idle shell attached to shows its prompt without a key pressed; with no name, the
    -- picker offers the running containers
    local idle = os.getenv("DOCKERPTY_NVIM_IDLE")
    local offered
    vim.ui.select = function(items, _, choose)
      offered = #items
      for _, c in ipairs(items) do if c.id == idle then return choose(c) end end
      choose(nil)
    end
    -- the size its buffer's window will give it is the size it has: no resize will redraw it
    local wi = vim.fn.getwininfo(api.nvim_get_current_win())[1]
    assert(require("dockerpty.nvim").client():resize(idle, wi.height, wi.width - wi.textoff))
    vim.wait(500)
    command("DockerAttach")
    buf = api.nvim_get_current_buf()
    log("picked", offered and offered > 0 and vim.b[buf].dockerpty_container == idle and "ok" or table.concat(notices, "|"))
    wait_for("the idle prompt", function() return text(buf):find("/ #", 1, true) end)
    log("idle_prompt", "ok")
    command("bwipeout!")

    -- completion: a container's name in the container's place only, an image after run's flags
    local nv = require "dockerpty.nvim"
    local idle_name = os.getenv("DOCKERPTY_NVIM_IDLE_NAME")
    local lead = idle_name:sub(1, -3)
    local function completes(kind, l, line)
      return table.concat(nv.complete(kind, l, line, #line), ",")
    end
    log("complete_container", completes("container", lead, "DockerExec " .. lead))
    log("complete_command", completes("container", "", "DockerExec " .. idle_name .. " "))
    log("complete_image", completes("image", "busy", "DockerRun --rm -e X=1 -w /etc busy"))
    log("complete_flag_value", completes("image", "", "DockerRun -e "))
    log("complete_after_image", completes("image", "", "DockerRun busybox "))

    -- :DockerPs: one window, refreshed in place; keys on a row
    local wins = #api.nvim_list_wins()
    command("DockerPs -a -f label=" .. label)
    local ps = api.nvim_get_current_buf()
    local function ps_text() return table.concat(api.nvim_buf_get_lines(ps, 0, -1, false), "\n") end
    log("ps_header", api.nvim_buf_get_lines(ps, 0, 1, false)[1])
    log("ps_lists_idle", ps_text():find(idle_name, 1, true) and "ok" or ps_text())
    command("DockerPs -a -f label=" .. label)
    log("ps_reused", api.nvim_get_current_buf() == ps and #api.nvim_list_wins() == wins + 1 and "ok"
      or ("%d windows, %d before"):format(#api.nvim_list_wins(), wins))
    local function row_of(name)
      for i, l in ipairs(api.nvim_buf_get_lines(ps, 0, -1, false)) do
        if l:find(name, 1, true) then return i end
      end
    end
    local gone = os.getenv("DOCKERPTY_NVIM_GONE_NAME")
    api.nvim_win_set_cursor(0, { assert(row_of(gone), ps_text()), 0 })
    api.nvim_feedkeys("D", "x", false)
    log("ps_removed", not row_of(gone) and "ok" or ps_text())
    api.nvim_win_set_cursor(0, { assert(row_of(idle_name), ps_text()), 0 })
    api.nvim_feedkeys(api.nvim_replace_termcodes("<CR>", true, false, true), "x", false)
    buf = api.nvim_get_current_buf()
    log("ps_attached", vim.b[buf].dockerpty_container == idle and #vim.fn.win_findbuf(ps) == 1 and "ok"
      or table.concat(notices, "|"))
    wait_for("the prompt from the list", function() return text(buf):find("/ #", 1, true) end)
    command("bwipeout!")
    api.nvim_set_current_win(vim.fn.win_findbuf(ps)[1])
    api.nvim_feedkeys("q", "x", false)
    log("ps_closed", #vim.fn.win_findbuf(ps) == 0 and "ok" or "still shown")
    -- a command with a newline is shown escaped; a filter the engine refuses opens nothing
    local nl_name = os.getenv("DOCKERPTY_NVIM_NEWLINE_NAME")
    command("DockerPs -a -f name=" .. nl_name)
    ps = api.nvim_get_current_buf()
    log("ps_newline", ps_text():find([["sh -c 'echo a\necho …"]], 1, true) and "ok" or ps_text():gsub("\n", "|"))
    api.nvim_feedkeys("q", "x", false)
    wins = #api.nvim_list_wins()
    command("DockerPs -f bogus=1")
    log("ps_refused", said("nvalid filter 'bogus'") and #api.nvim_list_wins() == wins and "ok"
      or (#api.nvim_list_wins() .. " windows; " .. table.concat(notices, "|")))
    -- an image not here is pulled in the buffer, the editor going on meanwhile, then run
    local pull_ref = os.getenv("DOCKERPTY_NVIM_PULL")
    command(run .. pull_ref .. " sh")
    local pull_buf = api.nvim_get_current_buf()
    local returned = api.nvim_buf_get_name(pull_buf):find("docker://pull/", 1, true)
      and not require("dockerpty.nvim").sessions[pull_buf]
    local seen = ""
    wait_for("the pulled image's shell", function()
      if api.nvim_buf_is_valid(pull_buf) then seen = text(pull_buf) end
      local b = api.nvim_get_current_buf()
      return require("dockerpty.nvim").sessions[b] and text(b):find("/ #", 1, true)
    end, 60)
    log("pull_shown", returned and seen:find("Unable to find image '" .. pull_ref .. "' locally", 1, true)
      and seen:find("Pulling from", 1, true) and "ok" or (tostring(returned) .. " " .. seen:gsub("\n", "|")))
    log("pulled_shell", "ok")
    command("bwipeout!")
    command("DockerPs -x")
    log("ps_bad_flag", said("dockerpty: unknown shorthand flag: 'x' in -x") and "ok" or table.concat(notices, "|"))

    -- a container without a tty: typed lines are echoed and edited here and go on enter, its
    -- output comes a line each, ctrl-c drops the line and sends the container SIGINT, and
    -- ctrl-d on an empty line ends its input
    command("DockerAttach " .. os.getenv("DOCKERPTY_NVIM_PLAIN"))
    buf = api.nvim_get_current_buf()
    type_keys("abx<BS>c<CR>")
    wait_for("the plain container's answer", function() return text(buf):find("got:abc", 1, true) end)
    log("plain_lines", (table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "|"):gsub("|+$", "")))
    -- as typed keys, but not through nvim_input, which takes CTRL-C as an interrupt of this script
    vim.cmd("startinsert")
    wait_for("Terminal mode", function() return api.nvim_get_mode().mode == "t" end)
    api.nvim_feedkeys(api.nvim_replace_termcodes("zz<C-c>", true, false, true), "t", false)
    wait_for("the plain container's trap", function() return text(buf):find("got-INT", 1, true) end)
    log("plain_interrupted", (table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "|"):gsub("|+$", "")))
    type_keys("<C-d>")
    wait_for("the plain container's exit", function() return text(buf):find("exited with code 0", 1, true) end)
    log("plain", "ok")
    command("bwipeout!")
  end)
  log("result", ok and "ok" or ("error: " .. tostring(err)))
  out:close()
  vim.cmd("qa!")
end)
vim.schedule(function() assert(coroutine.resume(co)) end)
