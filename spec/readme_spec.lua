-- The README's examples run as written, so it stays true.
local helpers = require "helpers"

local function lua_blocks()
  local f = assert(io.open("README.md"))
  local text = f:read("a")
  f:close()
  local blocks, terminal = {}, {}
  for block in text:gmatch("```lua\n(.-)```") do
    -- a block that says it runs in a terminal waits for keys: it is driven in a pty below
    if block:match("^%-%- Run in a terminal") then
      terminal[#terminal + 1] = block
    else
      blocks[#blocks + 1] = block
    end
  end
  return blocks, terminal
end

describe("README examples #engine", function()
  it("run against the engine", function()
    -- what a failed earlier run may have left
    local c = helpers.engine()
    c:remove_container("demo", { force = true })
    c:request("DELETE", "/volumes/demo-data")
    c:close()
    os.remove("/tmp/demo.cast") -- a recording is never written over an earlier one
    finally(function() os.remove("/tmp/demo.cast") end)
    local blocks = lua_blocks()
    assert.is_true(#blocks >= 3)
    -- the first block makes `client`; the TLS one makes `remote`; the rest use them
    local code = "print = function() end\n" .. table.concat(blocks, "\ndo end\n")
    local out, status = helpers.run_lua(code, {})
    assert.equal(0, status, out)
  end)
end)

describe("README's key-binding example #engine", function()
  it("works in a terminal as its comment says", function()
    local blocks, terminal = lua_blocks()
    assert.equal(1, #terminal)
    assert.matches("ctrl%-g", terminal[1])
    -- after the first block, which makes `client`
    local t = helpers.pty_lua(blocks[1] .. "\ndo end\n" .. terminal[1], { rows = 24, cols = 80 })
    finally(function() t:close() end)
    t:expect("hello from ")
    t:expect("# ", 30)
    t:send("\7")                                   -- ctrl-g
    t:expect("date\r\n[^\n]*%d%d:%d%d:%d%d")
    t:send("\15")                                  -- ctrl-o
    t:send("stty size\r")
    t:expect("50 132")
    t:send("\29")                                  -- ctrl-]
    t:expect("bye")
    t:expect("nil\tdetached")
    assert.same({ "exit", 0 }, { t:wait(20) })
  end)
end)

describe("README's command examples", function()
  it("say that the picker in a shell script needs a terminal", function()
    local line = helpers.read_file("README.md"):match("\n(docker_id=%$%(dockerpty pick%)[^\n]*)")
    assert.is_truthy(line)
    assert.matches("# .*terminal", line)
  end)
end)
