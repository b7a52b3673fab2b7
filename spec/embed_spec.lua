-- Sessions driven by a host loop or a script: send/expect, many at once, recordings.
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"
local record = require "dockerpty.record"
local helpers = require "helpers"

describe("record.utf8_clean", function()
  it("keeps valid UTF-8, replaces invalid bytes and carries a cut sequence", function()
    assert.same({ "aä€😀", "" }, { record.utf8_clean("aä€😀") })
    assert.same({ "a", "\226\130" }, { record.utf8_clean("a\226\130") })
    assert.same({ "\239\191\189b", "" }, { record.utf8_clean("\255b") })
    assert.same({ "\239\191\189\239\191\189", "" }, { record.utf8_clean("\192\175") }) -- overlong
    assert.same({ "\239\191\189\239\191\189\239\191\189", "" }, { record.utf8_clean("\237\160\128") }) -- surrogate
    -- every split of a mixed string comes back whole
    local s = "x€y😀z\226\130\172"
    for i = 0, #s do
      local a, carry = record.utf8_clean(s:sub(1, i))
      local b, rest = record.utf8_clean(carry .. s:sub(i + 1))
      assert.equal(s, a .. b)
      assert.equal("", rest)
    end
  end)
end)

describe("scripted sessions #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  local function shell(extra)
    local opts = { image = "busybox", command = { "sh" }, labels = { [helpers.label] = "1" } }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return assert(dockerpty.open(c, opts))
  end

  it("send, expect with captures, output and wait", function()
    local s = shell { size = { 33, 101 } }
    s:expect("/ # ", { plain = true })
    s:send("echo S=$(stty size)=\r")
    local m, rows, cols = s:expect("S=(%d+) (%d+)=")
    assert.equal("S=33 101=", m)
    assert.same({ "33", "101" }, { rows, cols })
    s:send("echo a-$((2*21))\r")
    assert.equal("a-42", s:expect("a%-42"))
    assert.matches("a%-42", s:output())
    s:send("exit 5\r")
    assert.equal(5, s:wait())
    s:close()
    local gone, _, code = c:inspect_container(s.container)
    assert.is_nil(gone) -- made by the session, removed on close
    assert.equal(404, code)
  end)

  it("return the match and every capture, even one that is the whole match", function()
    local s = shell()
    s:expect("/ # ", { plain = true })
    s:send("echo ab | wc -c\r")
    assert.same({ "3", "3" }, { s:expect("(%d+)") })
    assert.same({ "/ # ", "/ # " }, { s:expect("(/ # )") })
    s:send("echo n-$((6*7)) n-$((6*7))\r")
    local m, a, b, at = s:expect("(n)%-(%d)()")
    assert.same({ "n-4", "n", "4", "number" }, { m, a, b, type(at) })
    assert.same({ "n-42\r", "42" }, { s:expect("n%-(%d+)\r") })
    assert.same({ "/ # " }, { s:expect("/ # ", { plain = true }) })
    s:close()
  end)

  it("match the text a person sees, with the raw bytes there too", function()
    local s = shell()
    s:expect("/ # ", { plain = true })
    -- busybox asks where the cursor is after each prompt: ESC [ 6 n
    s:send("echo ab | wc -c\r")
    assert.equal("3", s:expect("%d+"))
    s:send("printf '\\033]0;title\\007A\\033P1$r0m\\033\\\\B\\033[1mC\\033[0m\\n'\r")
    assert.equal("ABC\r\n", s:expect("%u+\r\n"))
    local text, raw = s:output(), s:output({ raw = true })
    assert.is_nil(text:find("\27", 1, true))
    assert.truthy(raw:find("\27]0;title\7A\27P1$r0m\27\\B\27[1mC\27[0m\r\n", 1, true))
    assert.truthy(raw:find("/ # \27[6n", 1, true))
    assert.equal("\27[6n", s:expect("\27%[6n", { raw = true }))
    s:close()
  end)

  it("take a list of alternatives and say which matched, with what came before", function()
    local s = shell()
    s:expect("/ # ", { plain = true })
    s:send("echo be''ta-7\r")
    assert.same({ 2, "beta-7", "7" }, { s:expect({ "alpha", "beta%-(%d)", "gamma" }) })
    assert.equal(2, s.index)
    assert.equal("beta-7", s.match)
    assert.equal("echo be''ta-7\r\n", s.before)
    -- the earliest in the output wins, the first listed on a tie; the words come in one write
    -- of echo's, never split, and the echoed command line holds none of them
    s:send("echo o''ne t''wo\r")
    assert.same({ 2, "one" }, { s:expect({ "two", "one", "on" }, { plain = true }) })
    assert.equal(" two\r\n/ ", (s:expect({ "# " }) and s.before))
    assert.has_error(function() s:expect({}) end)
    assert.has_error(function() s:expect({ "a", 1 }) end)
    assert.has_error(function() s:expect("a", { timeuot = 1 }) end)
    s:close()
  end)

  it("raise a timeout and the end as errors a script tells apart, with the last output", function()
    local s = shell()
    s:expect("/ # ", { plain = true })
    s:send("printf '\\033]0;t\\007\\033P1$r\\033\\\\'; echo last-words\r")
    s:expect("last%-words\r")
    local ok, err = pcall(s.expect, s, "never%-printed", { timeout = 0.3 })
    assert.is_false(ok)
    assert.equal("timeout", err.kind)
    assert.equal(0.3, err.timeout)
    assert.equal("never%-printed", err.pattern)
    assert.matches("last%-words", err.output)
    local msg = tostring(err)
    assert.matches('^expected "never%%%-printed" within 0%.3s; the last output:\n', msg)
    assert.matches("last%-words", msg)
    assert.is_nil(msg:find("[\27\7]")) -- the container's escapes are not the reader's
    assert.matches("^why: expected", "why: " .. err)
    ok, err = pcall(s.wait, s, { timeout = 0.2 })
    assert.is_false(ok)
    assert.equal("timeout", err.kind)
    assert.matches("^the session did not end within 0%.2s; the last output:\n", tostring(err))
    s:send("echo bye; exit 3\r")
    ok, err = pcall(s.expect, s, { "never", "nor this" })
    assert.is_false(ok)
    assert.equal("eof", err.kind)
    assert.equal(3, err.exit_code)
    assert.matches("bye", err.output)
    assert.matches('^expected "never" or "nor this", but the session ended %(exit code 3%); its last output:\n', tostring(err))
    -- an uncaught one prints as its message
    local t = helpers.pty_lua([[
      local dockerpty = require "dockerpty"
      local s = assert(dockerpty.open(assert(dockerpty.client()), { image = "busybox", command = { "true" },
        labels = { [ "]] .. helpers.label .. [[" ] = "1" } }))
      s:expect("x")]])
    t:expect('expected "x", but the session ended %(exit code 0%)')
    assert.same({ "exit", 1 }, { t:wait() })
    t:close()
    s:close()
  end)

  it("run an exec in a running container, without a tty: stdout and stderr both captured", function()
    local id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
    local seen = {}
    local s = assert(dockerpty.open(c, { container = id, command = "sh -c 'cat; echo err >&2; exit 4'", tty = false,
      on_output = function(data, stream) seen[stream] = (seen[stream] or "") .. data end }))
    s:send("from-the-script\n")
    assert(s:close_input())
    assert.equal(4, s:wait({ timeout = 10 }))
    assert.equal("from-the-script\n", seen[1])
    assert.equal("err\n", seen[2])
    s:close()
  end)

  it("drive ten sessions at once", function()
    local sessions = {}
    for i = 1, 10 do sessions[i] = shell() end
    local t0 = core.monotime()
    local results = dockerpty.together(sessions, function(s, i)
      s:expect("/ # ", { plain = true })
      s:send(("echo v-$((%d*3))\r"):format(i))
      local _, v = s:expect("v%-(%d+)\r")
      s:send("sleep 1; exit " .. i .. "\r")
      return v, s:wait()
    end)
    local elapsed = core.monotime() - t0
    for i = 1, 10 do
      assert.same({ true, tostring(i * 3), i }, results[i])
      sessions[i]:close()
    end
    assert.is_true(elapsed < 6, "the ten one-second sleeps overlapped: " .. elapsed .. " s")
  end)

  it("step without blocking, with the fds to watch", function()
    local s = shell()
    local steps, started = 0, core.monotime()
    while not s:output():find("/ # ", 1, true) do
      local fds = s:fds()
      assert.is_true(#fds >= 1)
      local t = core.monotime()
      s:step()
      assert.is_true(core.monotime() - t < 0.5)
      core.poll(fds, 100)
      steps = steps + 1
      assert.is_true(core.monotime() - started < 10)
    end
    assert.is_true(steps >= 1)
    s:write("exit 2\r")
    assert.equal(2, s:wait())
    s:close()
  end)

  it("always give a host loop an fd to wake on, however many small pieces one read holds", function()
    -- without a tty each write is a frame of its own; while the session is not stepped they
    -- pile up in the socket, and one read then holds far more than a step hands out
    local s = shell { tty = false, command = { "sh", "-c",
      "i=0; while [ $i -lt 4000 ]; do echo $i; i=$((i+1)); done; echo end-of-lines; sleep 1" } }
    core.sleep(1.5)
    local started = core.monotime()
    while s:step() do
      local fds = s:fds()
      assert(#fds >= 1, "no fd to wait on, with the output at: " .. s:output():sub(-40):gsub("\n", " "))
      core.poll(fds, 1000)
      assert.is_true(core.monotime() - started < 20)
    end
    assert.equal(0, s.exit_code)
    local out = s:output()
    assert.truthy(out:find("\n3999\nend%-of%-lines\n$"))
    s:close()
  end)

  it("detach on the detach keys, leaving the container", function()
    local s = shell()
    s:expect("/ # ", { plain = true })
    s:send("\16\17")
    assert.same({ nil, "detached" }, { s:wait() })
    s:close()
    assert.is_true(assert(c:inspect_container(s.container)).State.Running)
    c:remove_container(s.container, { force = true })
  end)

  it("with detach_keys = \"\", pass ctrl-p ctrl-q to the container, in a new container and in an exec", function()
    local s = shell { detach_keys = "", remove = false }
    s:expect("/ # ", { plain = true })
    local x = assert(dockerpty.open(c, { container = s.container, command = { "sh" }, detach_keys = "" }))
    x:expect("/ # ", { plain = true })
    for _, t in ipairs { x, s } do -- the exec first: the container ends with s
      t:send("stty -ixon; echo READY; head -c 5 | od -An -tx1\r")
      t:expect("READY\r\n", { plain = true })
      t:send("\16")
      t:send("\17")
      t:send("\16\17\r")
      assert.equal("10 11 10 11 0a", t:expect("%x%x %x%x %x%x %x%x %x%x"))
      t:send("exit 6\r")
      assert.equal(6, t:wait())
      t:close()
    end
    c:remove_container(s.container, { force = true })
  end)

  it("record an asciicast whose events replay to the same text", function()
    local cast = os.tmpname()
    local s = shell { size = { 24, 80 }, record = cast }
    s:expect("/ # ", { plain = true })
    s:send("printf 'x\\342\\202\\254y\\n'; echo done-$((1+1))\r")
    s:expect("done%-2")
    s:resize(30, 90)
    s:send("exit 0\r")
    assert.equal(0, s:wait())
    local printed = s:output({ raw = true })
    s:close()
    local f = assert(io.open(cast))
    local header = dockerpty.json.decode(f:read("*l"))
    assert.equal(2, header.version)
    assert.equal(80, header.width)
    assert.equal(24, header.height)
    local text, last, resized = {}, 0, false
    for line in f:lines() do
      local ev = assert(dockerpty.json.decode(line))
      assert.is_true(ev[1] >= last)
      last = ev[1]
      if ev[2] == "o" then text[#text + 1] = ev[3] end
      if ev[2] == "r" then assert.equal("90x30", ev[3]); resized = true end
    end
    f:close()
    assert.is_true(resized)
    assert.equal(printed, table.concat(text))
    assert.matches("x€y", printed)
    -- and asciinema itself plays it back
    local t = helpers.pty_run({ "asciinema", "cat", cast })
    t:expect("done%-2")
    t:wait()
    t:close()
    os.remove(cast)
  end)

  it("record from dockerpty.start and exec_command too", function()
    local cast, out = os.tmpname(), os.tmpname()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "echo rec-out; printf 'n\\0ul\\n'; echo rec-err >&2; exit 4" } })
    local fo = assert(io.open(out, "wb"))
    assert.equal(4, dockerpty.start(c, id, { record = cast, stdout = fo, stderr = fo }))
    fo:close()
    local f = assert(io.open(cast))
    assert.equal(2, dockerpty.json.decode(f:read("*l")).version)
    local text = {}
    for line in f:lines() do text[#text + 1] = dockerpty.json.decode(line)[3] end
    f:close()
    local fr = assert(io.open(out, "rb"))
    local printed = fr:read("*a")
    fr:close()
    -- a NUL shows as nothing, and is left out; a newline shows as CR LF on a terminal
    assert.equal((printed:gsub("%z", ""):gsub("\n", "\r\n")), table.concat(text))
    assert.matches("n%zul\n", printed)
    assert.matches("rec%-out\n", printed)
    assert.matches("rec%-err\n", printed)
    os.remove(cast)
    os.remove(out)
  end)

  it("record on a terminal the size the container has, and no other", function()
    local cast = os.tmpname()
    local id = helpers.container(c, { Tty = true, Cmd = { "sh", "-c",
      -- the terminal's size, once the start's resize has come (within ten seconds)
      "i=0; while [ \"$(stty size)\" != '20 70' ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size" } })
    local t = helpers.pty_lua(("local dockerpty = require \"dockerpty\"; local c = assert(dockerpty.client()); io.stdout:write('\\nRESULT:', "
      .. "tostring(dockerpty.start(c, %q, { record = %q })), '\\n')"):format(id, cast), { rows = 20, cols = 70 })
    assert.equal("20 70", t:expect("(%d+ %d+)"))
    t:expect("RESULT:0")
    t:wait()
    t:close()
    local f = assert(io.open(cast))
    local header = dockerpty.json.decode(f:read("*l"))
    assert.same({ 70, 20 }, { header.width, header.height })
    for line in f:lines() do
      local ev = assert(dockerpty.json.decode(line))
      assert.are_not.equal("r", ev[2], line) -- the nudge that makes a program draw again is not a size
    end
    f:close()
    os.remove(cast)
  end)

  it("say what is wrong as nil, message, code", function()
    local s, err, code = dockerpty.open(c, { container = "dockerpty-no-such-container" })
    assert.is_nil(s)
    assert.equal("No such container: dockerpty-no-such-container", err)
    assert.equal(404, code)
    local exits = 0
    s, err = dockerpty.open(c, { image = "dockerpty-no-such-image", on_exit = function() exits = exits + 1 end })
    assert.is_nil(s)
    assert.matches("No such image", err)
    assert.equal(0, exits) -- a session never handed over does not end for the host
    assert.has_error(function() dockerpty.open(c, {}) end)
    s, err, code = dockerpty.open(c, { image = "busybox", keys = "ctrl-g" })
    assert.same({ nil, 'keys: a table of key spec = "detach" or a function expected', "config" }, { s, err, code })
    s, err, code = dockerpty.open(c, { image = "busybox", keys = { ["ctrl-g"] = 1 } })
    assert.same({ nil, 'key binding "ctrl-g": "detach" or a function expected', "config" }, { s, err, code })
    -- options that would fail once the container runs are refused before it is made
    local before = #helpers.ours(c)
    for _, bad in ipairs { { size = { 24 } }, { size = { 0, 80 } }, { record = true } } do
      bad.image = "busybox"
      bad.labels = { [helpers.label] = "" }
      local ok, e = pcall(dockerpty.open, c, bad)
      assert.is_false(ok)
      assert.matches("^bad argument #2 to 'open' %(", e)
    end
    assert.equal(before, #helpers.ours(c))
  end)

  it("refuse an option it does not know, or one that does not apply, before making anything", function()
    local before = #helpers.ours(c)
    local id = helpers.container(c, { Cmd = { "sleep", "300" } })
    for _, case in ipairs {
      { { image = "busybox", comand = { "sh" } }, 'unknown option "comand"' },
      { { image = "busybox", [1] = "sh" }, "unknown option 1" },
      { { image = "busybox", binds = "/tmp:/tmp" }, "binds: a list of strings expected" },
      { { image = "busybox", env = { 1, 2 } }, 'env: a list of "NAME=value" strings or a table of names to values expected' },
      { { image = "busybox", labels = { a = 1 } }, "labels: a table of strings to strings expected" },
      { { image = "busybox", privileged = "yes" }, "privileged: a boolean expected" },
      { { image = "busybox", container = id }, "container or image expected, not both" },
      { { container = id, command = { "sh" }, binds = { "/tmp:/tmp" } }, "binds: only for a new container %(image =%)" },
      { { container = id, network = "none" }, "network: only for a new container %(image =%)" },
      { { container = id, env = { "A=1" } }, "env: only for a new container or an exec %(command =%)" },
    } do
      local ok, err = pcall(dockerpty.open, c, case[1])
      assert.is_false(ok)
      assert.matches("^bad argument #2 to 'open' %(" .. case[2] .. "%)$", err)
    end
    assert.equal(before + 1, #helpers.ours(c))
  end)

  it("make a container with what it needs: env, workdir, user, binds, mounts, network, privileged, labels, name", function()
    local function tmpdir()
      local p = assert(io.popen("mktemp -d"))
      local d = p:read("*l")
      p:close()
      assert(helpers.execute("chmod 777 " .. d))
      return d
    end
    local ro, rw = tmpdir(), tmpdir()
    local f = assert(io.open(ro .. "/in", "w"))
    f:write("from-the-host\n")
    f:close()
    local name = "dockerpty-spec-" .. helpers.run_id
    local s = assert(dockerpty.open(c, {
      image = "busybox", tty = false, interactive = false, name = name,
      command = { "sh", "-c", "echo E=$GREETING,$OTHER W=$(pwd) U=$(id -u); cat /ro/in; "
        .. "touch /ro/x 2>/dev/null || echo read-only; echo to-the-host > /rw/out; ls /sys/class/net" },
      env = { GREETING = "hi", OTHER = "a b" }, workdir = "/tmp", user = "1000",
      binds = { ro .. ":/ro:ro" }, mounts = { { Type = "bind", Source = rw, Target = "/rw" } },
      network = "none", privileged = true, labels = { [helpers.label] = "1", role = "spec" },
    }))
    assert.equal(0, s:wait({ timeout = 20 }))
    assert.equal("E=hi,a b W=/tmp U=1000\nfrom-the-host\nread-only\nlo\n", s:output())
    assert.equal("to-the-host\n", helpers.read_file(rw .. "/out"))
    local info = assert(c:inspect_container(s.container))
    assert.equal("/" .. name, info.Name)
    assert.equal("none", info.HostConfig.NetworkMode)
    assert.is_true(info.HostConfig.Privileged)
    assert.equal("spec", info.Config.Labels.role)
    assert.same({ ro .. ":/ro:ro" }, info.HostConfig.Binds)
    s:close()
    -- an exec takes env (a list too), workdir and user (privileged too, which this engine,
    -- short of capabilities itself, cannot grant a root process)
    local id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
    local x = assert(dockerpty.open(c, { container = id, command = "sh -c 'echo $A $B $(pwd) $(id -u)'", tty = false,
      interactive = false, env = { "A=1", "B=2" }, workdir = "/etc", user = "7" }))
    assert.equal(0, x:wait({ timeout = 20 }))
    assert.equal("1 2 /etc 7\n", x:output())
    x:close()
    assert(helpers.execute("rm -rf " .. ro .. " " .. rw))
  end)

  it("end a new container's input on close_input, and read its output while sending", function()
    local s = shell { command = { "wc", "-c" }, tty = false }
    s:send("abc")
    s:close_input()
    assert.equal(0, s:wait { timeout = 20 })
    assert.equal("3\n", s:output())
    s:close()
    -- cat answers as it reads: 8 MB in, each byte back, while send waits on the socket
    s = shell { command = { "cat" }, tty = false }
    local n = 0
    s.on_output = function(data) n = n + #data end
    s:send(("x"):rep(8 * 1024 * 1024))
    s:close_input()
    assert.equal(0, s:wait { timeout = 60 })
    assert.equal(8 * 1024 * 1024, n)
    s:close()
  end)

  it("watch keys by the attached container's tty, and show a binding's print", function()
    -- a container without a tty gets every byte, whatever tty the caller assumed
    local id = helpers.container(c, { OpenStdin = true, Cmd = { "sh", "-c", "head -c 2 | od -An -tx1" } })
    local s = assert(dockerpty.open(c, { container = id }))
    s:send("\16\17")
    s:expect("10 11")
    assert.equal(0, s:wait { timeout = 20 })
    s:close()
    s = shell { keys = { ["ctrl-]"] = function(live) live:print("bye"); live:detach() end } }
    s:expect("/ # ", { plain = true })
    s:write("\29")
    assert.same({ nil, "detached" }, { s:wait() })
    assert.matches("[dockerpty] bye", s:output(), 1, true)
    s:close()
    c:remove_container(s.container, { force = true })
  end)

  it("close on leaving a <close> scope, removing what it made", function()
    if not _VERSION:find("5.4") or jit then return end -- the syntax is Lua 5.4's
    local id
    local ok = pcall(assert(load([[
      local dockerpty, c, shell, set = ...
      local s <close> = shell()
      set(s.container)
      error("a script's step failed")
    ]])), dockerpty, c, shell, function(v) id = v end)
    assert.is_false(ok)
    assert.truthy(id)
    local gone, _, code = c:inspect_container(id)
    assert.is_nil(gone)
    assert.equal(404, code)
  end)
end)

describe("the luv example #engine", function()
  it("embeds two container terminals and switches between them with a key", function()
    local t = helpers.pty_run({ helpers.lua, "examples/luv_shell.lua" }, {
      env = { LUA_PATH = "./lua/?.lua;./lua/?/init.lua;;",
        LUA_CPATH = (package.cpath:match("^[^;]*")) .. ";;" } })
    t:expect("%[1%]")
    t:expect("/ # ")
    t:send("echo one-$((1+0))\r")
    t:expect("one%-1")
    t:send("\2") -- ctrl-b: the other container
    t:expect("%[2%]")
    t:send("echo two-$((1+1))\r")
    t:expect("two%-2")
    t:send("\2")
    t:expect("%[1%]")
    t:send("\4") -- ctrl-d in the shell: it exits; the example ends when both have
    t:send("\2")
    t:send("\4")
    t:wait(20)
    t:close()
  end)
end)
