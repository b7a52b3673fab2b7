-- examples/luv_shell.lua in a real terminal: two container shells on a luv loop, ctrl-b
-- between them.
local helpers = require "helpers"

describe("examples/luv_shell.lua #engine", function()
  local lua_version = os.getenv("LUA_VERSION") or "5.4"

  it("brings the shell still running to the front when the one in front exits", function()
    local c = helpers.engine()
    local ids = {}
    finally(function()
      -- what the example would have removed, had it not been stopped half-way
      for _, id in ipairs(ids) do c:remove_container(id, { force = true }) end
      c:close()
    end)
    local t = helpers.pty_run({ helpers.lua, "examples/luv_shell.lua" }, { env = {
      LUA_PATH = "./lua/?.lua;./lua/?/init.lua;;", LUA_CPATH = "./build/" .. lua_version .. "/?.so;;" } })
    finally(function() t:close() end)
    ids[1] = t:expect("%[1%] container (%x+)", 30)
    t:expect("# ")
    t:send("\2")
    ids[2] = t:expect("%[2%] container (%x+)")
    t:expect("# ")
    t:send("exit 5\r")
    t:expect("[2 exited with code 5]", 10, true)
    t:expect("[1] container " .. ids[1], 10, true)
    -- typed keys reach the shell that runs
    t:send("echo alive-$((2+3))\r")
    t:expect("alive%-5")
    -- ctrl-b has nowhere else to go, and says so
    t:send("\2")
    t:expect("no other shell runs", 10, true)
    t:send("echo still-$((1+1))\r")
    t:expect("still%-2")
    t:send("exit\r")
    t:expect("[1 exited with code 0]", 10, true)
    assert.same({ "exit", 0 }, { t:wait(20) })
    for _, id in ipairs(ids) do
      local gone, _, code = c:inspect_container(id)
      assert.same({ nil, 404 }, { gone, code })
    end
  end)
end)
