-- luacheck lua spec bin examples: the code runs under Lua 5.4 and LuaJIT (and in Neovim).
std = "lua54+luajit"
globals = { "vim" } -- Neovim's, whose fields the plugin sets (vim.b, vim.bo, vim.o)
read_globals = { "jit" }
max_line_length = false
files["spec"] = { std = "+busted" }
