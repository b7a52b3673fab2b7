-- examples/harpoon.lua in a real terminal: the engine's info, a build from a Dockerfile
-- given as a string, its container run here, and both removed.
local helpers = require "helpers"

describe("examples/harpoon.lua #engine #images", function()
  it("prints the info as JSON, builds, runs the image's command here, and removes both", function()
    local c = helpers.engine()
    local tag = "dockerpty-spec-harpoon-" .. helpers.run_id .. ":1"
    finally(function()
      helpers.cleanup(c)
      c:remove_image(tag, { force = true })
    end)
    local lua_version = os.getenv("LUA_VERSION") or "5.4"
    local t = helpers.pty_run({ helpers.lua, "examples/harpoon.lua" }, { env = {
      LUA_PATH = "./lua/?.lua;./lua/?/init.lua;;", LUA_CPATH = "./build/" .. lua_version .. "/?.so;;",
      HARPOON_TAG = tag, LABEL = helpers.label .. "=1" } })
    finally(function() t:close() end)
    local version = assert(c:version()).Version
    t:expect('\n    "ServerVersion": "' .. version .. '",', 30, true)
    t:expect("Step 2/4 : RUN echo 'lolz from the image' > /message", 30, true)
    t:expect("Successfully tagged " .. tag, 30, true)
    t:expect("lolz from the image\r\n", 30, true)
    assert.same({ "exit", 0 }, { t:wait(30) })
    assert.same({}, helpers.ours(c))
    local gone, _, code = c:inspect_image(tag)
    assert.same({ nil, 404 }, { gone, code })
  end)
end)
