-- The Neovim plugin in a real headless Neovim (Debian's), against the real engine.
local helpers = require "helpers"

-- Output and exit status of a shell command, on any Lua.
local function sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"__status=$?\""))
  local out = p:read("*a")
  p:close()
  local body, status = out:match("^(.*)__status=(%d+)\n?$")
  return body, tonumber(status)
end

describe("the Neovim plugin #engine #nvim", function()
  it("runs a container shell in a buffer that follows the window, shows the exit, leaves nothing", function()
    local c = helpers.engine()
    local result = os.tmpname()
    local plain = helpers.container(c, { OpenStdin = true, StdinOnce = true, Cmd = { "sh", "-c",
      "trap 'echo got-INT; i=1' INT; while true; do i=; if read l; then echo got:$l; elif [ -z \"$i\" ]; then break; fi; done; echo bye" } })
    assert(c:start(plain))
    local out, status = sh(("DOCKERPTY_NVIM_RESULT=%s DOCKERPTY_NVIM_PLAIN=%s timeout 120 nvim --headless -u NONE -i NONE "
      .. "--cmd 'set rtp^=.' -c 'luafile spec/nvim/scenario.lua' </dev/null"):format(result, plain))
    local f = assert(io.open(result))
    local r = {}
    for k, v in f:read("*a"):gmatch("([%w_]+)=([^\n]*)") do r[k] = v end
    f:close()
    os.remove(result)
    assert.equal(0, status, out)
    assert.equal("ok", r.result)
    assert.equal("ok", r.typed)
    assert.equal(r.size_window, r.size_container)
    assert.equal(r.resized_window, r.resized_container)
    assert.are_not.equal(r.size_window, r.resized_window)
    assert.equal(r.numbered_window, r.numbered_container)
    assert.is_true(tonumber(r.numbered_textoff) > 0)
    assert.equal(r.split_window, r.split_container)
    assert.equal("0", r.squeezed_height)
    assert.equal("none", r.squeezed_errmsg)
    assert.equal("3", r.exit_code)
    assert.equal("abc|got:abc", r.plain_lines) -- no staircase, the edit made here
    assert.equal("abc|got:abc|zz^C|got-INT", r.plain_interrupted) -- the line dropped, SIGINT sent
    assert.equal("ok", r.plain)
    -- :DockerRun's containers are gone once their buffers are wiped, unless detached
    for _, k in ipairs { "container", "container2" } do
      local info, _, code = c:inspect_container(r[k])
      assert.is_nil(info)
      assert.equal(404, code)
    end
    local kept = assert(c:inspect_container(r.container3))
    assert.is_true(kept.State.Running)
    c:remove_container(r.container3, { force = true })
    c:remove_container(plain, { force = true })
    c:close()
  end)

  it("edits lines for a container without a tty as a cooked terminal would", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local sent, echoed, eofs, signals = {}, {}, 0, {}
      local feed = require("dockerpty.nvim").line_discipline(function(s) echoed[#echoed + 1] = s end,
        function(s) sent[#sent + 1] = s end, function() eofs = eofs + 1 end,
        function(sig) signals[#signals + 1] = sig end)
      feed("a\195\169\127b\r")  -- backspace takes a whole UTF-8 character
      feed("\195\169x\127\r")     -- and only the last one
      feed("xy\21z\n")            -- ctrl-u takes the line
      feed("pa")
      feed("rt\4")                 -- ctrl-d sends what is typed, with no newline
      feed("\4")                   -- and on an empty line ends the input
      feed("k\27[Ax\127\127\r")   -- an arrow key is shown as ^[[A, and erased as such
      feed("gone\3")               -- ctrl-c drops the line and interrupts
      feed("too\28")               -- so does ctrl-\, with SIGQUIT
      io.stdout:write("\nsent=", table.concat(sent, "|"):gsub("\n", "N"), "\n")
      io.stdout:write("signals=", table.concat(signals, "|"), "\n")
      io.stdout:write("echoed=", table.concat(echoed):gsub("\r", "R"):gsub("\n", "N"):gsub("\b", "B"), "\n")
      io.stdout:write("eofs=", eofs, "\n")
      vim.cmd("qa!")
    ]])
    f:close()
    local out, status = sh(("timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' -c 'luafile %s' </dev/null")
      :format(script))
    os.remove(script)
    assert.equal(0, status, out)
    assert.equal("abN|\195\169N|zN|part|k\27[N", out:match("\nsent=([^\n]*)\n"), out)
    assert.equal("a\195\169B BbRN\195\169xB BRNxyB BB BzRNpartk^[[AxB BB BRNgone^CRNtoo^\\RN",
      out:match("\nechoed=([^\n]*)\n"), out)
    assert.equal("SIGINT|SIGQUIT", out:match("\nsignals=([^\n]*)\n"), out)
    assert.equal("1", out:match("\neofs=(%d+)\n"), out)
  end)

  it("refuses to :DockerAttach a stopped container, as docker attach does, and leaves it stopped", function()
    local c = helpers.engine()
    local name = "dockerpty-spec-stopped-" .. os.time()
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true }, { name = name })
    local out, status = sh(("timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' "
      .. "-c 'runtime plugin/dockerpty.lua' -c 'DockerAttach %s' "
      .. "-c 'lua io.stdout:write(\"\\nterminals=\", #vim.tbl_filter(function(b) "
      .. "return vim.bo[b].buftype == \"terminal\" end, vim.api.nvim_list_bufs()), \"\\n\")' "
      .. "-c 'qa!' </dev/null"):format(name))
    assert.equal(0, status, out)
    assert.matches("dockerpty: You cannot attach to a stopped container, start it first", out, 1, true)
    assert.matches("\nterminals=0\n", out, 1, true)
    local info = assert(c:inspect_container(id))
    assert.is_false(info.State.Running)
    c:remove_container(id, { force = true })
    c:close()
  end)

  it("leaves the window as it was when a session cannot open, and names every session's buffer", function()
    local c = helpers.engine()
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true })
    assert(c:start(id))
    local before = #assert(c:containers { all = true })
    local file = os.tmpname()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
      local function say(k, v) io.stdout:write("\n", k, "=", v, "\n") end
      -- an error message is an error to vim.cmd from Lua: shown here as the editor shows it
      local function cmd(c) local ok, e = pcall(vim.cmd, c); if not ok then say("error", e) end end
      vim.cmd("runtime plugin/dockerpty.lua")
      vim.cmd("edit %s")
      cmd("DockerRun dockerpty-no-such-image")
      say("after-run", vim.fn.expand("%%:p"))
      -- a buffer that cannot be left: the session is closed again, in one line
      vim.cmd("set nohidden")
      vim.fn.setline(1, "changed")
      cmd("DockerRun busybox")
      say("after-nohidden", vim.fn.expand("%%:p"))
      vim.cmd("set hidden")
      vim.cmd("DockerExec %s")
      vim.cmd("DockerExec %s")
      for _, b in ipairs(vim.api.nvim_list_bufs()) do
        if vim.bo[b].buftype == "terminal" then say("term", vim.api.nvim_buf_get_name(b)) end
      end
      vim.cmd("qa!")
    ]]):format(file, id, id))
    f:close()
    local out, status = sh(("timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' "
      .. "-c 'luafile %s' </dev/null"):format(script))
    os.remove(script)
    os.remove(file)
    assert.equal(0, status, out)
    assert.matches("dockerpty: No such image", out, 1, true)
    assert.equal(file, out:match("\nafter%-run=([^\n]*)\n"))
    assert.matches("dockerpty: E37: No write since last change", out, 1, true)
    assert.is_nil(out:find("stack traceback", 1, true), out)
    assert.equal(file, out:match("\nafter%-nohidden=([^\n]*)\n"))
    local names = {}
    for name in out:gmatch("\nterm=([^\n]*)") do names[#names + 1] = name end
    assert.equal(2, #names, out)
    assert.are_not.equal(names[1], names[2])
    assert.equal(before, #assert(c:containers { all = true })) -- nothing made is left
    c:remove_container(id, { force = true })
    c:close()
  end)

  it("quits at once after opening sessions, removing what :DockerRun made and leaving the rest", function()
    local c = helpers.engine()
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true })
    assert(c:start(id))
    local out, status = sh(("timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' "
      .. "-c 'runtime plugin/dockerpty.lua' -c 'DockerAttach %s' -c 'DockerExec %s' -c 'DockerRun busybox' "
      .. "-c 'lua io.stdout:write(\"\\nrun=\", vim.b.dockerpty_container, \"\\n\")' -c 'qa!' </dev/null"):format(id, id))
    assert.equal(0, status, out) -- libuv aborted the exit while a poll handle watched a closed fd
    local run = assert(out:match("\nrun=(%x+)\n"), out)
    local gone, _, code = c:inspect_container(run)
    assert.is_nil(gone)
    assert.equal(404, code)
    assert.is_true(assert(c:inspect_container(id)).State.Running)
    c:remove_container(id, { force = true })
    c:close()
  end)

  it("answers :checkhealth dockerpty with the engine and its API version", function()
    local out, status = sh("timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' "
      .. "-c 'runtime plugin/dockerpty.lua' -c 'checkhealth dockerpty' -c 'w! /dev/stdout' -c 'qa!' </dev/null")
    assert.equal(0, status, out)
    assert.matches("core [%d.]+ loads", out)
    assert.matches("API 1%.%d+", out)
  end)
end)
