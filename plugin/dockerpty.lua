-- dockerpty for Neovim: container terminals in buffers. The work is in lua/dockerpty/nvim.lua,
-- loaded on first use.
if vim.g.loaded_dockerpty then return end
vim.g.loaded_dockerpty = true

-- The core this checkout built for LuaJIT (make LUA_VERSION=luajit), if nothing else provides one.
local here = debug.getinfo(1, "S").source:match("^@(.*)/plugin/[^/]+$")
if here then
  package.cpath = here .. "/build/luajit/?.so;" .. package.cpath
end

local function nvim() return require "dockerpty.nvim" end

-- Each command gets its arguments as typed (c.args), split as a shell splits them, so that
-- quotes group words; fargs would split inside them, and 0.7 gives {""} for none.
local function define(name, fn, nargs, complete)
  vim.api.nvim_create_user_command(name, function(c) fn(c.args) end, {
    nargs = nargs,
    complete = complete and function(...) return nvim().complete(complete, ...) end or nil,
  })
end

define("DockerRun", function(a) nvim().run(a) end, "+", "image")
define("DockerAttach", function(a) nvim().attach(a) end, "?", "container")
define("DockerExec", function(a) nvim().exec(a) end, "*", "container")
define("DockerPs", function(a) nvim().ps(a) end, "*")
define("DockerConnect", function(a) nvim().connect(a) end, "?")
