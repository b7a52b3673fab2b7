-- The README's examples run as written, so it stays true.
local helpers = require "helpers"

local function lua_blocks()
  local f = assert(io.open("README.md"))
  local text = f:read("a")
  f:close()
  local blocks = {}
  for block in text:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = block end
  return blocks
end

describe("README examples #engine", function()
  it("run against the engine", function()
    -- what a failed earlier run may have left
    local c = helpers.engine()
    c:remove_container("demo", { force = true })
    c:request("DELETE", "/volumes/demo-data")
    c:close()
    local blocks = lua_blocks()
    assert.is_true(#blocks >= 3)
    -- the first block makes `client`; the TLS one makes `remote`; the rest use them
    local code = "print = function() end\n" .. table.concat(blocks, "\ndo end\n")
    local out, status = helpers.run_lua(code, {})
    assert.equal(0, status, out)
  end)
end)
