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
    local idle_name = "dockerpty-spec-idle-" .. helpers.run_id
    local idle = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true }, { name = idle_name })
    assert(c:start(idle))
    local gone_name = "dockerpty-spec-gone-" .. helpers.run_id
    local gone = helpers.container(c, { Cmd = { "true" } }, { name = gone_name })
    local images = require "images"
    images.check()
    local pull_ref = images.copy(images.plain, "dockerpty/blob", "nvim")
    local newline_name = "dockerpty-spec-newline-" .. helpers.run_id
    helpers.container(c, { Cmd = { "sh", "-c", "echo a\necho b" } }, { name = newline_name })
    require("dockerpty.core").sleep(0.5) -- the idle shell's prompt is out before anyone attaches
    local out, status = sh(("DOCKERPTY_NVIM_RESULT=%s DOCKERPTY_NVIM_PLAIN=%s DOCKERPTY_NVIM_LABEL=%s "
      .. "DOCKERPTY_NVIM_IDLE=%s DOCKERPTY_NVIM_IDLE_NAME=%s DOCKERPTY_NVIM_GONE_NAME=%s DOCKERPTY_NVIM_NEWLINE_NAME=%s DOCKERPTY_NVIM_PULL=%s "
      .. "timeout 180 nvim --headless -u NONE -i NONE "
      .. "--cmd 'set rtp^=.' -c 'luafile spec/nvim/scenario.lua' </dev/null"):format(result, plain, helpers.label,
      idle, idle_name, gone_name, newline_name, pull_ref))
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
    assert.equal("ok", r.ended_notice)
    assert.equal("ok", r.detached) -- named, though the user never typed a name
    assert.equal("ok", r.quoted)
    assert.equal("ok", r.no_tty)
    assert.equal("ok", r.bad_flag)
    assert.equal("ok", r.picked)
    assert.equal("ok", r.idle_prompt)
    assert.equal(idle_name, r.complete_container)
    assert.equal("", r.complete_command)
    assert.equal("busybox:latest", r.complete_image)
    assert.equal("", r.complete_flag_value)
    assert.equal("", r.complete_after_image)
    assert.matches("^CONTAINER ID   IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$", r.ps_header)
    assert.equal("ok", r.ps_lists_idle)
    assert.equal("ok", r.ps_reused)
    assert.equal("ok", r.ps_removed)
    assert.equal("ok", r.ps_attached)
    assert.equal("ok", r.ps_closed)
    assert.equal("ok", r.ps_bad_flag)
    assert.equal("ok", r.ps_newline)
    assert.equal("ok", r.ps_refused)
    assert.equal("ok", r.pull_shown) -- the command returned with the pull under way
    assert.equal("ok", r.pulled_shell)
    images.cleanup(c)
    local removed, _, rcode = c:inspect_container(gone)
    assert.is_nil(removed)
    assert.equal(404, rcode)
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
    -- the --rm runs that exited are gone too: this run has only what it made and the detached one
    local left = {}
    for _, x in ipairs(helpers.ours(c)) do left[x.Id] = true end
    for _, x in ipairs(helpers.ours(c)) do
      if x.Names[1] == "/" .. newline_name then left[x.Id] = nil end
    end
    assert.same({ [plain] = true, [idle] = true, [r.container3] = true }, left)
    helpers.cleanup(c)
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
    local name = "dockerpty-spec-stopped-" .. helpers.run_id
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
    local before = #helpers.ours(c)
    local file = os.tmpname()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
      local function say(k, v) io.stdout:write("\n", k, "=", v, "\n") end
      -- an error message is an error to vim.cmd from Lua: shown here as the editor shows it
      local function cmd(c) local ok, e = pcall(vim.cmd, c); if not ok then say("error", e) end end
      vim.cmd("runtime plugin/dockerpty.lua")
      vim.cmd("edit %s")
      cmd("DockerRun --pull=never dockerpty-no-such-image")
      say("after-run", vim.fn.expand("%%:p"))
      -- a buffer that cannot be left: the session is closed again, in one line
      vim.cmd("set nohidden")
      vim.fn.setline(1, "changed")
      cmd("DockerRun -l %s busybox")
      say("after-nohidden", vim.fn.expand("%%:p"))
      vim.cmd("set hidden")
      vim.cmd("DockerExec %s")
      vim.cmd("DockerExec %s")
      for _, b in ipairs(vim.api.nvim_list_bufs()) do
        if vim.bo[b].buftype == "terminal" then say("term", vim.api.nvim_buf_get_name(b)) end
      end
      vim.cmd("qa!")
    ]]):format(file, helpers.label, id, id))
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
    assert.equal(before, #helpers.ours(c)) -- nothing made is left
    c:remove_container(id, { force = true })
    c:close()
  end)

  it("quits at once after opening sessions, removing what :DockerRun made and leaving the rest", function()
    local c = helpers.engine()
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true })
    assert(c:start(id))
    local out, status = sh(("timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' "
      .. "-c 'runtime plugin/dockerpty.lua' -c 'DockerAttach %s' -c 'DockerExec %s' -c 'DockerRun --rm -l %s busybox' "
      .. "-c 'lua io.stdout:write(\"\\nrun=\", vim.b.dockerpty_container, \"\\n\")' -c 'qa!' </dev/null"):format(id, id, helpers.label))
    assert.equal(0, status, out) -- libuv aborted the exit while a poll handle watched a closed fd
    local run = assert(out:match("\nrun=(%x+)\n"), out)
    local gone, _, code = c:inspect_container(run)
    assert.is_nil(gone)
    assert.equal(404, code)
    assert.is_true(assert(c:inspect_container(id)).State.Running)
    c:remove_container(id, { force = true })
    c:close()
  end)

  it("works where vim.loop is gone and vim.uv is its name, as in newer Neovim", function()
    local c = helpers.engine()
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true })
    assert(c:start(id))
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
      vim.uv, vim.loop = vim.loop, nil
      vim.cmd("runtime plugin/dockerpty.lua")
      vim.cmd("DockerExec %s sh -c 'echo uv-$((40+2)); sleep 5'")
      local buf = vim.api.nvim_get_current_buf()
      local seen = vim.wait(10000, function()
        return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n"):find("uv%%-42") ~= nil
      end, 20)
      io.stdout:write("\nseen=", tostring(seen), "\n")
      vim.cmd("qa!")
    ]]):format(id))
    f:close()
    local out, status = sh(("timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' -c 'luafile %s' </dev/null")
      :format(script))
    os.remove(script)
    assert.equal(0, status, out)
    assert.matches("\nseen=true\n", out)
    helpers.cleanup(c)
    c:close()
  end)

  it("opens a gateway's terminal with :DockerConnect as :DockerExec opens a local one", function()
    local c = helpers.engine()
    local id = helpers.container(c, { Cmd = { "sleep", "600" } })
    assert(c:start(id))
    local token = "nvim-spec-token-" .. helpers.run_id
    local token_file, log, result = os.tmpname(), os.tmpname(), os.tmpname()
    local f = assert(io.open(token_file, "w"))
    f:write(token, "\n")
    f:close()
    -- spec/support/mini_gateway.lua, as spec/connect_spec.lua starts it: its first line is its URL
    local q = helpers.shell_quote
    local p = assert(io.popen(("exec %s -e %s spec/support/mini_gateway.lua %s >%s 2>&1 & echo $!"):format(
      helpers.lua, q(helpers.prelude), q(token), q(log))))
    local pid = p:read("*l")
    p:close()
    local base
    for _ = 1, 200 do
      base = helpers.read_file(log):match("^listening (%S+)")
      if base then break end
      require("dockerpty.core").sleep(0.025)
    end
    local ok, err = pcall(function()
      assert(base, "the gateway did not start: " .. helpers.read_file(log))
      -- a port just closed refuses
      local l = assert(require("dockerpty.core").listen("127.0.0.1:0"))
      local refused = ("ws://%s/api/exec/%s?cmd=sh&tty=1"):format(l:address(), id)
      l:close()
      local out, status = sh(("DOCKERPTY_NVIM_RESULT=%s DOCKERPTY_NVIM_URL=%s DOCKERPTY_NVIM_TOKEN=%s "
        .. "DOCKERPTY_NVIM_TOKEN_FILE=%s DOCKERPTY_NVIM_REFUSED=%s DOCKERPTY_TOKEN= "
        .. "timeout 120 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' -c 'luafile spec/nvim/connect.lua' </dev/null")
        :format(q(result), q(("%s/api/exec/%s?cmd=sh&tty=1"):format(base, id)), q(token), q(token_file), q(refused)))
      local r = {}
      for k, v in helpers.read_file(result):gmatch("([%w_]+)=([^\n]*)") do r[k] = v end
      assert.equal(0, status, out .. helpers.read_file(result))
      assert.equal("ok", r.result)
      assert.equal('dockerpty: "DockerConnect" requires exactly 1 argument: a ws:// or wss:// URL', r.no_url)
      assert.matches("^dockerpty: cannot connect to ws://127%.0%.0%.1:%d+/[^|]*: Connection refused$", r.refused)
      assert.matches("^dockerpty: [^|]*401[^|]*$", r.wrong_token)
      assert.equal("ok", r.still_first)
      assert.matches("^ws://127%.0%.0%.1:%d+/api/exec/", r.name)
      assert.equal("ok", r.typed)
      assert.equal(r.size_window, r.size_container)
      assert.equal(r.resized_window, r.resized_container)
      assert.are_not.equal(r.size_window, r.resized_window)
      assert.equal("5", r.exit_code)
      assert.equal("ok", r.ended_notice)
      assert.equal("ok", r.detached)
      assert.equal("ok", r.prompted)
      assert.equal("ok", r.history_clean)
      assert.equal("ok", r.messages_clean)
      assert.is_nil(out:find(token, 1, true), out)
    end)
    os.execute("kill " .. pid)
    for _, name in ipairs { token_file, log, result } do os.remove(name) end
    helpers.cleanup(c)
    c:close()
    assert(ok, err)
  end)

  it("answers :checkhealth dockerpty with the engine and its API version", function()
    local out, status = sh("timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' "
      .. "-c 'runtime plugin/dockerpty.lua' -c 'checkhealth dockerpty' -c 'w! /dev/stdout' -c 'qa!' </dev/null")
    assert.equal(0, status, out)
    assert.matches("core [%d.]+ loads", out)
    assert.matches("API 1%.%d+", out)
  end)
end)
