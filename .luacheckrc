-- luacheck lua spec bin examples: the code runs under Lua 5.4 and LuaJIT (and in Neovim).
std = "lua54+luajit"
read_globals = { "vim", "jit" }
max_line_length = false
files["spec"] = { std = "+busted" }
