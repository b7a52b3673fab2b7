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

local co
local function wait_for(what, cond, seconds)
  local deadline = vim.loop.now() + (seconds or 20) * 1000
  while true do
    local r = cond()
    if r then return r end
    if vim.loop.now() > deadline then error("timed out waiting for " .. what, 0) end
    vim.defer_fn(function() assert(coroutine.resume(co)) end, 20)
    coroutine.yield()
  end
end

local function text(buf)
  return table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

local function last_size(buf)
  local r, c
  for a, b in text(buf):gmatch("S=(%d+) (%d+)=") do r, c = a, b end
  return r and (r .. " " .. c)
end

local function type_keys(keys)
  vim.cmd("startinsert")
  api.nvim_input(keys)
end

co = coroutine.create(function()
  local ok, err = pcall(function()
    -- a shell, typed into and read back
    vim.cmd("DockerRun busybox sh")
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
    local got
    wait_for("the resized size", function()
      type_keys("echo S=$(stty size)=<CR>")
      vim.wait(200)
      got = last_size(buf)
      return got == want
    end)
    log("resized_container", got)

    -- the exit code shows
    type_keys("exit 3<CR>")
    wait_for("the exit", function() return text(buf):find("exited with code 3", 1, true) end)
    log("exit_code", vim.b[buf].dockerpty_exit_code)
    vim.cmd("bwipeout!")
    log("wiped", "ok")

    -- wiping a running session's buffer ends it and removes the container
    vim.cmd("DockerRun busybox sh")
    buf = api.nvim_get_current_buf()
    log("container2", vim.b[buf].dockerpty_container)
    wait_for("the second prompt", function() return text(buf):find("/ #", 1, true) end)
    vim.cmd("bwipeout!")

    -- detaching says so, and leaves the container
    vim.cmd("DockerRun busybox sh")
    buf = api.nvim_get_current_buf()
    log("container3", vim.b[buf].dockerpty_container)
    wait_for("the third prompt", function() return text(buf):find("/ #", 1, true) end)
    type_keys("<C-p><C-q>")
    wait_for("the detach notice", function() return text(buf):find("detached", 1, true) end)
    log("detached", "ok")
    vim.cmd("bwipeout!")
  end)
  log("result", ok and "ok" or ("error: " .. tostring(err)))
  out:close()
  vim.cmd("qa!")
end)
vim.schedule(function() assert(coroutine.resume(co)) end)
