-- :help dockerpty with the checkout on the runtimepath, as the README sets it up: the build
-- writes doc/tags, the same file Neovim's own :helptags writes.
local helpers = require "helpers"

local function sh(cmd)
  return helpers.popen_status("(" .. cmd .. ") 2>&1")
end

describe(":help dockerpty #nvim", function()
  local lua_version = os.getenv("LUA_VERSION") or "5.4"

  it("opens the plugin's help in a Neovim that has only the checkout on its runtimepath", function()
    local out, status = sh("make -s --no-print-directory all LUA_VERSION=" .. lua_version)
    assert.equal(0, status, out)
    local report, script = os.tmpname(), os.tmpname()
    finally(function() os.remove(report); os.remove(script) end)
    local f = assert(io.open(script, "w"))
    f:write(("help dockerpty\ncall writefile([&buftype, expand('%%:t'), getline('.')], '%s')\nqa!\n"):format(report))
    f:close()
    out, status = sh(("nvim --headless -u NONE -i NONE --cmd %s -S %s </dev/null")
      :format(helpers.shell_quote("set rtp^=" .. os.getenv("PWD")), script))
    assert.equal(0, status, out)
    assert.not_matches("E149", out)
    local lines = {}
    for l in helpers.read_file(report):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
    assert.equal("help", lines[1], out)
    assert.equal("dockerpty.txt", lines[2])
    assert.matches("%*dockerpty%*", lines[3])
  end)

  it("has the tags Neovim's :helptags finds, and git ignores them", function()
    local dir = os.tmpname()
    os.remove(dir)
    finally(function() sh("rm -rf " .. dir) end)
    local out, status = sh(("mkdir %s && cp doc/*.txt %s/ && nvim --headless -u NONE -i NONE -c 'helptags %s' -c q </dev/null")
      :format(dir, dir, dir))
    assert.equal(0, status, out)
    assert.equal(helpers.read_file(dir .. "/tags"), helpers.read_file("doc/tags"))
    assert.same({ "doc/tags\n", 0 }, { sh("git check-ignore doc/tags") })
  end)
end)
