-- Run inside headless Neovim by spec/nvim_spec.lua: drives :DockerConnect like a user against
-- a gateway ($DOCKERPTY_NVIM_URL, a shell's exec URL), and writes what it saw to
-- $DOCKERPTY_NVIM_RESULT, one key=value a line.
local api = vim.api
local uv = vim.uv or vim.loop
local out = assert(io.open(os.getenv("DOCKERPTY_NVIM_RESULT"), "w"))
local function log(k, v)
  out:write(k, "=", (tostring(v):gsub("\n", "|")), "\n")
  out:flush()
end

vim.cmd("runtime plugin/dockerpty.lua")
vim.o.columns, vim.o.lines = 100, 30
local url, token = os.getenv("DOCKERPTY_NVIM_URL"), os.getenv("DOCKERPTY_NVIM_TOKEN")

local function text(buf)
  return table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

local notices = {}
vim.notify = function(msg) notices[#notices + 1] = msg end

local co
local function wait_for(what, cond, seconds)
  local deadline = uv.now() + (seconds or 20) * 1000
  while true do
    local r = cond()
    if r then return r end
    if uv.now() > deadline then
      error(("timed out waiting for %s: text %q; said: %s"):format(what, text(0):sub(-200), table.concat(notices, "|")), 0)
    end
    vim.defer_fn(function() assert(coroutine.resume(co)) end, 20)
    coroutine.yield()
  end
end

local function command(cmd)
  if api.nvim_get_mode().mode == "t" then
    api.nvim_input("<C-Bslash><C-n>")
    wait_for("Normal mode", function() return api.nvim_get_mode().mode:sub(1, 1) == "n" end)
  end
  vim.cmd(cmd)
end

local function type_keys(keys)
  vim.cmd("startinsert")
  wait_for("Terminal mode", function() return api.nvim_get_mode().mode == "t" end)
  api.nvim_input(keys)
end

local function last_size(buf)
  local r, c
  for a, b in text(buf):gmatch("S=(%d+) (%d+)=") do r, c = a, b end
  return r and (r .. " " .. c)
end

-- What one command did to the list of buffers and what it said, in one line.
local function refused(cmd)
  local before, win_buf = #api.nvim_list_bufs(), api.nvim_get_current_buf()
  notices = {}
  command(cmd)
  local same = #api.nvim_list_bufs() == before and api.nvim_get_current_buf() == win_buf
  return (same and "" or "a buffer opened; ") .. table.concat(notices, "|")
end

co = coroutine.create(function()
  local ok, err = pcall(function()
    local start_buf = api.nvim_get_current_buf()
    log("no_url", refused("DockerConnect"))
    vim.env.DOCKERPTY_TOKEN = "not-the-token"
    log("refused", refused("DockerConnect " .. os.getenv("DOCKERPTY_NVIM_REFUSED")))
    log("wrong_token", refused("DockerConnect " .. url))
    log("still_first", api.nvim_get_current_buf() == start_buf and "ok" or "moved")

    -- the token from g:dockerpty_token_file: a shell, typed into and read back
    vim.env.DOCKERPTY_TOKEN = nil
    vim.g.dockerpty_token_file = os.getenv("DOCKERPTY_NVIM_TOKEN_FILE")
    command("DockerConnect " .. url)
    local buf, win = api.nvim_get_current_buf(), api.nvim_get_current_win()
    log("name", api.nvim_buf_get_name(buf))
    wait_for("the prompt", function() return text(buf):find("/ #", 1, true) end)
    type_keys("echo $((6*7))<CR>")
    wait_for("the typed command's output", function() return text(buf):find("\n42\n") end)
    log("typed", "ok")

    -- the remote pty has the window's size, and follows it
    local function size_seen(want)
      local got
      wait_for("the size " .. want, function()
        type_keys("echo S=$(stty size)=<CR>")
        vim.wait(200)
        got = last_size(buf)
        return got == want
      end)
      return got
    end
    local want = api.nvim_win_get_height(win) .. " " .. api.nvim_win_get_width(win)
    log("size_window", want)
    type_keys("echo S=$(stty size)=<CR>")
    log("size_container", wait_for("stty size", function() return last_size(buf) end))
    vim.o.lines, vim.o.columns = 40, 120
    want = api.nvim_win_get_height(win) .. " " .. api.nvim_win_get_width(win)
    log("resized_window", want)
    log("resized_container", size_seen(want))

    -- the remote exit code shows, and keys after it are answered
    type_keys("exit 5<CR>")
    wait_for("the exit", function() return text(buf):find("exited with code 5", 1, true) end)
    log("exit_code", vim.b[buf].dockerpty_exit_code)
    type_keys("x")
    wait_for("the ended notice", function() return text(buf):find("the session has ended", 1, true) end)
    log("ended_notice", "ok")
    command("bwipeout!")

    -- the token from $DOCKERPTY_TOKEN; the detach keys close the session and say so
    vim.g.dockerpty_token_file = nil
    vim.env.DOCKERPTY_TOKEN = token
    command("DockerConnect " .. url)
    buf = api.nvim_get_current_buf()
    wait_for("the second prompt", function() return text(buf):find("/ #", 1, true) end)
    type_keys("<C-p><C-q>")
    wait_for("the detach notice", function() return text(buf):find("detached from", 1, true) end)
    log("detached", text(buf):find("detached from " .. url:gsub("%?.*", ""), 1, true) and "ok" or text(buf))
    command("bwipeout!")

    -- the token asked for: typed at inputsecret()'s prompt, kept from the history
    vim.env.DOCKERPTY_TOKEN = nil
    api.nvim_feedkeys(token .. "\r", "t", false)
    command("DockerConnect " .. url)
    buf = api.nvim_get_current_buf()
    wait_for("the third prompt", function() return text(buf):find("/ #", 1, true) end)
    log("prompted", require("dockerpty.nvim").sessions[buf] and "ok" or table.concat(notices, "|"))
    local history = {}
    for _, h in ipairs { "cmd", "input", "search", "expr" } do
      for i = 1, vim.fn.histnr(h) do history[#history + 1] = vim.fn.histget(h, i) end
    end
    log("history_clean", table.concat(history, "\n"):find(token, 1, true) and "the token is there" or "ok")
    type_keys("exit<CR>")
    wait_for("the third exit", function() return text(buf):find("exited with code 0", 1, true) end)
    log("messages_clean", vim.fn.execute("messages"):find(token, 1, true) and "the token is there" or "ok")
    -- the token file from setup(); a running session left open, which quitting ends
    require("dockerpty.nvim").setup({ token_file = os.getenv("DOCKERPTY_NVIM_TOKEN_FILE") })
    command("DockerConnect " .. url)
    buf = api.nvim_get_current_buf()
    wait_for("the last prompt", function() return text(buf):find("/ #", 1, true) end)
  end)
  log("result", ok and "ok" or ("error: " .. tostring(err)))
  out:close()
  vim.cmd("qa!")
end)
vim.schedule(function() assert(coroutine.resume(co)) end)
