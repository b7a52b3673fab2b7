-- Peak memory of decoding one JSON answer of a given size and shape, as an engine could send it.
--   lua5.4 bench/json_memory.lua SHAPE MIB        (from the checkout, after make)
-- SHAPE: containers (docker's /containers/json, repeated), numbers ([0,0,...]), tables
-- ([{},{},...]), strings (["a1","a2",...]). Prints the shape, the size, decode's result
-- (ok or its error) and the process's peak RSS (VmHWM) before and after the decode, in MiB.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
local ver = _VERSION == "Lua 5.1" and "luajit" or _VERSION:match("%d+%.%d+")
package.cpath = ("./build/%s/?.so;"):format(ver) .. package.cpath
local core = require "dockerpty.core"

local function hwm_mib()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then return tonumber(kb) / 1024 end
  end
end

local CONTAINER = '{"Id":"%064d","Names":["/web-%d"],"Image":"busybox","ImageID":"sha256:'
  .. string.rep("ab", 32) .. '","Command":"sh -c \'sleep 600\'","Created":1700000000,'
  .. '"Ports":[],"Labels":{"app":"demo","n":"%d"},"State":"running","Status":"Up 5 minutes",'
  .. '"HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{}},"Mounts":[]}'

local unit = {
  containers = function(i) return CONTAINER:format(i, i, i) end,
  numbers = function() return "0" end,
  tables = function() return "{}" end,
  strings = function(i) return '"a' .. i .. '"' end,
}

local shape, mib = arg[1] or "numbers", tonumber(arg[2] or "20")
local make = assert(unit[shape], "shape: containers, numbers, tables or strings")
local target = math.floor(mib * 1024 * 1024)
-- a block of distinct items, repeated: the text is built with little more than its own size
local block = {}
for i = 1, 1000 do block[i] = make(i) end
local piece = table.concat(block, ",")
local text = "[" .. (piece .. ","):rep(math.floor((target - 2) / (#piece + 1)) - 1) .. piece .. "]"
block, piece = nil, nil -- luacheck: ignore 311
collectgarbage()
collectgarbage()
local before = hwm_mib()
local v, err = core.json_decode(text)
local after = hwm_mib()
print(("%-10s %5.1f MiB  %-40s peak RSS %7.1f MiB before the decode, %7.1f MiB after"):format(
  shape, #text / 1048576, v and ("ok, %d elements"):format(#v) or err, before, after))
