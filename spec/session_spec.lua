-- Terminal sessions against the real engine: a program using dockerpty runs in a real
-- pseudo-terminal, and the spec types into it and reads what it shows.
local dockerpty = require "dockerpty"
local helpers = require "helpers"

local SIGTERM = 15

local endpoints = {
  { name = "unix socket", opts = {}, env = {} },
  { name = "TLS", opts = { host = helpers.tls_host, tls_verify = true, cert_path = helpers.tls .. "/client" },
    env = { DOCKER_HOST = helpers.tls_host, DOCKER_TLS_VERIFY = "1", DOCKER_CERT_PATH = helpers.tls .. "/client" } },
}

-- A program that runs one session call and reports how it ended.
local function session_program(call)
  return ([[
    local dockerpty = require "dockerpty"
    local c = assert(dockerpty.client())
    local code, err, kind = %s
    io.stdout:write("\r\nRESULT:", tostring(code), ":", tostring(err), ":", tostring(kind), "\r\n")
    io.stdout:flush()
  ]]):format(call)
end

local function tmpfile()
  local name = os.tmpname()
  return name
end

local read_file = helpers.read_file

for _, ep in ipairs(endpoints) do
  describe("a tty session over the " .. ep.name .. " #engine", function()
    local c

    setup(function() c = helpers.engine(ep.opts) end)
    teardown(function()
      if c then helpers.cleanup(c); c:close() end
    end)

    local function shell(extra)
      local body = { Cmd = { "sh" }, Tty = true, OpenStdin = true, StdinOnce = true }
      for k, v in pairs(extra or {}) do body[k] = v end
      return helpers.container(c, body)
    end

    it("shows the prompt, sizes the container's pty and follows resizes", function()
      local id = shell()
      local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)),
        { rows = 30, cols = 100, env = ep.env })
      t:expect("# ")
      t:send("stty size\r")
      assert.equal("30 100", t:expect("(%d+ %d+)"))
      t:resize(40, 120)
      -- the SIGWINCH reaches the client, which resizes the container's pty
      local size
      for _ = 1, 50 do
        t:send("stty size\r")
        size = t:expect("(%d+ %d+)")
        if size == "40 120" then break end
      end
      assert.equal("40 120", size)
      for i = 1, 5 do t:resize(20 + i, 60 + i) end
      for _ = 1, 50 do
        t:send("stty size\r")
        size = t:expect("(%d+ %d+)")
        if size == "25 65" then break end
      end
      assert.equal("25 65", size)
      t:send("exit 7\r")
      assert.equal("7:nil:nil", t:expect("RESULT:([^\r]*)"))
      assert.same({ "exit", 0 }, { t:wait() })
      t:close()
    end)

    it("leaves the terminal's settings as they were", function()
      local id = shell()
      local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)), { env = ep.env })
      local before = t:settings()
      t:expect("# ")
      assert.are_not.equal(before, t:settings()) -- raw while the session runs
      t:send("exit\r")
      t:expect("RESULT:0:")
      t:wait()
      assert.equal(before, t:settings())
      t:close()
    end)

    it("leaves the terminal's settings as they were when the client gets SIGTERM", function()
      local id = shell()
      local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)), { env = ep.env })
      local before = t:settings()
      t:expect("# ")
      t:kill(SIGTERM)
      assert.same({ "signal", SIGTERM }, { t:wait() })
      assert.equal(before, t:settings())
      t:close()
    end)

    it("sends ctrl-c to the container, which interrupts a sleep; the client lives on", function()
      local id = shell()
      local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)), { env = ep.env })
      t:expect("# ")
      t:send("echo S''TART; sleep 100\r")
      t:expect("START") -- the shell runs the line: the sleep is next
      os.execute("sleep 0.3")
      t:send("\3")
      t:expect("# ")
      t:send("echo alive-$((6*7))\r")
      t:expect("alive%-42")
      t:send("exit 0\r")
      assert.equal("0:nil:nil", t:expect("RESULT:([^\r]*)"))
      t:wait()
      t:close()
    end)

    it("detaches on ctrl-p ctrl-q, and attaching again shows the shell", function()
      local id = shell()
      local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)), { env = ep.env })
      t:expect("# ")
      t:send("\16\17")
      assert.equal("nil:detached:nil", t:expect("RESULT:([^\r]*)"))
      t:wait()
      t:close()
      assert.is_true(assert(c:inspect_container(id)).State.Running)

      t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)), { env = ep.env })
      t:expect("# ") -- the redraw after attaching shows the prompt again
      t:send("echo back-$((2+3))\r")
      t:expect("back%-5")
      t:send("exit 4\r")
      assert.equal("4:nil:nil", t:expect("RESULT:([^\r]*)"))
      t:wait()
      t:close()
    end)

    it("detaches on custom keys only, and a broken sequence arrives intact", function()
      local id = shell()
      local t = helpers.pty_lua(session_program(
        ("dockerpty.start(c, %q, { detach_keys = 'ctrl-x,x' })"):format(id)), { env = ep.env })
      t:expect("# ")
      t:send("echo READY; head -c 3 | od -An -tx1\r")
      t:expect("READY\r\n", 10, true) -- the shell has handed the terminal to head
      t:send("\16b\r") -- ctrl-p then b: both bytes reach the container
      assert.equal("10 62 0a", t:expect("(%x%x %x%x %x%x)")) -- the pty turns CR into LF
      t:expect("# ")
      -- -ixon: the container's tty would take ctrl-q for flow control
      t:send("stty -ixon; echo READY; head -c 3 | od -An -tx1\r")
      t:expect("READY\r\n", 10, true)
      t:send("\16\17\r") -- the default keys no longer detach: both bytes arrive
      assert.equal("10 11 0a", t:expect("(%x%x %x%x %x%x)"))
      t:expect("# ")
      t:send("echo READY; head -c 3 | od -An -tx1\r")
      t:expect("READY\r\n", 10, true)
      t:send("\24y\r") -- ctrl-x then y: a broken sequence passes through
      assert.equal("18 79 0a", t:expect("(%x%x %x%x %x%x)"))
      t:expect("# ")
      t:send("\24\24x") -- overlapping start: still detaches
      assert.equal("nil:detached:nil", t:expect("RESULT:([^\r]*)"))
      t:wait()
      t:close()
      assert.is_true(assert(c:inspect_container(id)).State.Running)
    end)

    -- The engine has keys of its own (ctrl-p,ctrl-q when it is given none): "none" must reach it too.
    for _, how in ipairs { "start", "exec_command" } do
      it("with detach_keys = \"\" in " .. how .. ", no keys detach: ctrl-p ctrl-q reach the container", function()
        local id = shell()
        local call = ("dockerpty.start(c, %q, { detach_keys = '' })"):format(id)
        if how == "exec_command" then
          assert(c:start(id))
          call = ("dockerpty.exec_command(c, %q, 'sh', { detach_keys = '' })"):format(id)
        end
        local t = helpers.pty_lua(session_program(call), { env = ep.env })
        t:expect("# ")
        t:send("stty -ixon; echo READY; head -c 5 | od -An -tx1\r")
        t:expect("READY\r\n", 10, true)
        t:send("\16")
        t:send("\17")
        t:send("\16\17\r")
        assert.equal("10 11 10 11 0a", t:expect("(%x%x %x%x %x%x %x%x %x%x)"))
        t:expect("# ")
        t:send("exit 5\r")
        assert.equal("5:nil:nil", t:expect("RESULT:([^\r]*)"))
        t:wait()
        t:close()
      end)
    end

    it("detaches while its output goes to a pipe nobody reads", function()
      local id = shell { Cmd = { "sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' x; sleep 100" } }
      local t = helpers.pty_lua(([[
        local dockerpty = require "dockerpty"
        local c = assert(dockerpty.client())
        local sink = assert(io.popen("exec sleep 29.5", "w"))
        local code, err = dockerpty.start(c, %q, { stdout = sink })
        io.stdout:write("\r\nRESULT:", tostring(code), ":", tostring(err), "\r\n")
        io.stdout:flush()
        os.exit(0, false) -- not waiting for the sink
      ]]):format(id), { env = ep.env })
      finally(function() os.execute("pkill -x -f 'sleep 29.5'") end)
      -- typed until the session is up (over TLS it may take more than a second); by then the
      -- pipe is full and the pump waits on it
      local detached = false
      for _ = 1, 15 do
        t:send("\16\17")
        if pcall(t.expect, t, "RESULT:nil:detached", 1, true) then detached = true; break end
      end
      assert(detached, "no detach: " .. t.out)
      t:wait()
      t:close()
      assert.is_true(assert(c:inspect_container(id)).State.Running)
    end)

    it("runs Lua functions bound to keys", function()
      local id = shell()
      local t = helpers.pty_lua(session_program(([[dockerpty.start(c, %q, { keys = {
          ["ctrl-g"] = function(s) s:send("echo bound-$((3*3))\r") end,
          ["ctrl-]"] = function(s) s:print("bye"); s:detach() end,
        } })]]):format(id)), { env = ep.env })
      t:expect("# ")
      t:send("\7")
      t:expect("bound%-9")
      t:send("\29")
      t:expect("%[dockerpty%] bye")
      assert.equal("nil:detached:nil", t:expect("RESULT:([^\r]*)"))
      t:wait()
      t:close()
    end)

    it("sends what was typed before a bound key ahead of what its function sends", function()
      local id = shell()
      local t = helpers.pty_lua(session_program(([[dockerpty.start(c, %q, { keys = {
          ["ctrl-g"] = function(s) s:send("cd-$((2+3))\r") end,
        } })]]):format(id)), { env = ep.env })
      t:expect("# ")
      t:send("echo ab\7") -- one read: the typed bytes and the key together
      t:expect("abcd%-5")
      t:send("exit\r")
      assert.equal("0:nil:nil", t:expect("RESULT:([^\r]*)"))
      t:wait()
      t:close()
    end)

    it("runs an exec with a tty, sized like the terminal, and returns its exit code", function()
      local id = helpers.container(c, { Cmd = { "sleep", "300" } })
      assert(c:start(id))
      local t = helpers.pty_lua(session_program(("dockerpty.exec_command(c, %q, 'sh')"):format(id)),
        { rows = 33, cols = 91, env = ep.env })
      t:expect("# ")
      t:send("stty size\r")
      assert.equal("33 91", t:expect("(%d+ %d+)"))
      t:send("exit 3\r")
      assert.equal("3:nil:nil", t:expect("RESULT:([^\r]*)"))
      t:wait()
      t:close()
    end)
  end)

  describe("a session without a tty over the " .. ep.name .. " #engine", function()
    local c

    setup(function() c = helpers.engine(ep.opts) end)
    teardown(function()
      if c then helpers.cleanup(c); c:close() end
    end)

    local function run_start(body, opts)
      local id = helpers.container(c, body)
      local out, err = tmpfile(), tmpfile()
      local fo, fe = assert(io.open(out, "wb")), assert(io.open(err, "wb"))
      opts = opts or {}
      opts.stdout, opts.stderr = fo, fe
      local code, msg, kind = dockerpty.start(c, id, opts)
      fo:close()
      fe:close()
      local o, e = read_file(out), read_file(err)
      os.remove(out)
      os.remove(err)
      return code, o, e, msg, kind
    end

    it("keeps stdout and stderr apart, in order", function()
      local code, out, err = run_start { Cmd = { "sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 9" } }
      assert.equal(9, code)
      assert.equal("out1\nout2\n", out)
      assert.equal("err1\nerr2\n", err)
    end)

    it("writes many small frames to pipes whole and in order, merged or apart", function()
      -- stderr's text goes through tr, so that no byte of it is a byte of stdout's: the engine
      -- may cut a line anywhere, and merged output still splits back into the two streams.
      local script = "exec 3>&1; i=0; while [ $i -lt 4000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done "
        .. "2>&1 >&3 3>&- | tr '0-9\\n' 'a-j\\r' >&2"
      local want_out, want_err = {}, {}
      for i = 0, 3999 do
        want_out[#want_out + 1] = "o" .. i .. "\n"
        want_err[#want_err + 1] = "e" .. tostring(i):gsub("%d", function(d) return string.char(97 + tonumber(d)) end) .. "\r"
      end
      want_out, want_err = table.concat(want_out), table.concat(want_err)
      -- apart: each output its own pipe
      local out, err = tmpfile(), tmpfile()
      local po = assert(io.popen("cat > " .. out, "w"))
      local pe = assert(io.popen("cat > " .. err, "w"))
      local id = helpers.container(c, { Cmd = { "sh", "-c", script } })
      assert.equal(0, dockerpty.start(c, id, { stdout = po, stderr = pe }))
      po:close()
      pe:close()
      assert.equal(want_out, read_file(out))
      assert.equal(want_err, read_file(err))
      -- merged: both outputs into one pipe; each keeps its own order
      po = assert(io.popen("cat > " .. out, "w"))
      id = helpers.container(c, { Cmd = { "sh", "-c", script } })
      assert.equal(0, dockerpty.start(c, id, { stdout = po, stderr = po }))
      po:close()
      local merged = read_file(out)
      assert.equal(#want_out + #want_err, #merged)
      assert.equal(want_out, (merged:gsub("[^o0-9\n]", "")))
      assert.equal(want_err, (merged:gsub("[^a-j\r]", "")))
      os.remove(out)
      os.remove(err)
    end)

    it("passes piped stdin to cat, and cat sees its end", function()
      local input = tmpfile()
      local f = assert(io.open(input, "wb"))
      f:write("line one\nline two\n")
      f:close()
      local fin = assert(io.open(input, "rb"))
      local code, out = run_start({ Cmd = { "sh", "-c", "cat; echo END" }, OpenStdin = true, StdinOnce = true },
        { stdin = fin })
      fin:close()
      os.remove(input)
      assert.equal(0, code)
      assert.equal("line one\nline two\nEND\n", out)
    end)

    it("delivers 20 MB of random output byte-exact #heavy", function()
      local code, out, err = run_start { Cmd = { "sh", "-c",
        "head -c 20971520 /dev/urandom > /r && md5sum < /r >&2 && cat /r" } }
      assert.equal(0, code)
      assert.equal(20971520, #out)
      local name = tmpfile()
      local f = assert(io.open(name, "wb"))
      f:write(out)
      f:close()
      assert.equal(err:match("^(%x+)"), helpers.md5_file(name))
      os.remove(name)
    end)

    it("delivers 8 MB of random input byte-exact #heavy", function()
      local name = tmpfile()
      assert(helpers.execute("head -c 8388608 /dev/urandom > " .. name))
      local fin = assert(io.open(name, "rb"))
      local code, out = run_start({ Cmd = { "sh", "-c", "md5sum; wc -c" }, OpenStdin = true, StdinOnce = true },
        { stdin = fin })
      fin:close()
      assert.equal(0, code)
      local sum = helpers.md5_file(name)
      os.remove(name)
      assert.equal(sum .. "  -\n0\n", out)
    end)

    it("replays earlier output with logs", function()
      local id = helpers.container(c, { Cmd = { "sh", "-c", "echo early; sleep 4; echo late" } })
      assert(c:start(id))
      local out = tmpfile()
      local fo = assert(io.open(out, "wb"))
      require("dockerpty.core").sleep(0.3) -- "early" is printed before we attach
      assert.equal(0, dockerpty.start(c, id, { logs = true, stdout = fo }))
      fo:close()
      assert.equal("early\nlate\n", read_file(out))
      os.remove(out)
    end)

    it("runs an exec without a tty: separate streams, stdin, exit code", function()
      local id = helpers.container(c, { Cmd = { "sleep", "300" } })
      assert(c:start(id))
      local input, out, err = tmpfile(), tmpfile(), tmpfile()
      local f = assert(io.open(input, "wb"))
      f:write("to the exec\n")
      f:close()
      local fin, fo, fe = assert(io.open(input, "rb")), assert(io.open(out, "wb")), assert(io.open(err, "wb"))
      local code = dockerpty.exec_command(c, id, { "sh", "-c", "cat; echo oops >&2; exit 6" },
        { stdin = fin, stdout = fo, stderr = fe })
      fin:close(); fo:close(); fe:close()
      assert.equal(6, code)
      assert.equal("to the exec\n", read_file(out))
      assert.equal("oops\n", read_file(err))
      os.remove(input); os.remove(out); os.remove(err)
    end)
  end)
end

describe("sessions #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("deliver the last bytes of 50 short-lived containers #heavy", function()
    for i = 1, 50 do
      local id = helpers.container(c, { Cmd = { "sh", "-c", "seq 1 2000; printf LAST-" .. i } })
      local out = tmpfile()
      local fo = assert(io.open(out, "wb"))
      assert.equal(0, dockerpty.start(c, id, { stdout = fo }))
      fo:close()
      local text = read_file(out)
      os.remove(out)
      assert.equal("LAST-" .. i, text:sub(-#("LAST-" .. i)))
      assert.equal(2000, select(2, text:gsub("\n", "")))
      c:remove_container(id)
    end
  end)

  it("start_created runs a container just made from its body, and --rm's goes", function()
    local body = { Cmd = { "sh", "-c", "echo made and started; exit 5" }, HostConfig = { AutoRemove = true } }
    local id = helpers.container(c, body)
    local out = tmpfile()
    local fo = assert(io.open(out, "wb"))
    assert.equal(5, dockerpty.start_created(c, id, body, { stdout = fo }))
    fo:close()
    assert.equal("made and started\n", read_file(out))
    os.remove(out)
    local _, _, code = c:inspect_container(id)
    assert.equal(404, code)
    assert.has_error(function() dockerpty.start_created(c, id, "not a body") end)
  end)

  it("report a start the engine refuses, whether its answer or the stream's end comes first", function()
    for _, tty in ipairs { false, true } do
      local id = helpers.container(c, { Cmd = { "dockerpty-no-such-command" }, Tty = tty })
      local code, err, kind = dockerpty.start(c, id, { stdout = io.open("/dev/null", "wb") })
      assert.is_nil(code)
      assert.matches('exec: "dockerpty%-no%-such%-command": executable file not found', err)
      assert.is_number(kind)
    end
  end)

  it("start_later and wait_later answer as start and wait would", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "exit 7" } })
    local waiter = assert(c:wait_later(id))
    local starter = assert(c:start_later(id))
    assert.is_number(starter:fileno())
    assert.is_true(starter:result())
    assert.is_true(starter:poll())
    assert.equal(7, assert(waiter:result()).StatusCode)
    local bad = helpers.container(c, { Cmd = { "dockerpty-no-such-command" } })
    local ok, err, code = assert(c:start_later(bad)):result()
    assert.is_nil(ok)
    assert.matches("executable file not found", err)
    assert.equal(400, code)
    ok, err, code = assert(c:start_later("dockerpty-no-such-container")):result()
    assert.is_nil(ok)
    assert.equal("No such container: dockerpty-no-such-container", err)
    assert.equal(404, code)
  end)

  it("start_exec runs an exec made with exec_create", function()
    local id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
    local ex = assert(c:exec_create(id, { Cmd = { "sh", "-c", "echo made; exit 2" }, AttachStdout = true, AttachStderr = true }))
    local out = tmpfile()
    local fo = assert(io.open(out, "wb"))
    assert.equal(2, dockerpty.start_exec(c, ex.Id, { stdout = fo }))
    fo:close()
    assert.equal("made\n", read_file(out))
    os.remove(out)
  end)

  it("report what the user got wrong as nil, message, code", function()
    local code, err, kind = dockerpty.start(c, "dockerpty-no-such-container")
    assert.is_nil(code)
    assert.equal("No such container: dockerpty-no-such-container", err)
    assert.equal(404, kind)
    code, err, kind = dockerpty.exec_command(c, "dockerpty-no-such-container", "sh")
    assert.is_nil(code)
    assert.equal("No such container: dockerpty-no-such-container", err)
    assert.equal(404, kind)
    local id = helpers.container(c, { Cmd = { "true" } })
    code, err, kind = dockerpty.start(c, id, { detach_keys = "ctrl-p,ctrl-pp" })
    assert.is_nil(code)
    assert.equal('detach keys: invalid key spec "ctrl-p,ctrl-pp": unknown key "ctrl-pp"', err)
    assert.equal("config", kind)
    code, err, kind = dockerpty.exec_command(c, id, "sh", { detach_keys = "ctrl-p,ctrl-pp" })
    assert.same({ nil, 'detach keys: invalid key spec "ctrl-p,ctrl-pp": unknown key "ctrl-pp"', "config" },
      { code, err, kind })
    assert.has_error(function() dockerpty.start(c, id, { stdin = "input.txt" }) end,
      "stdin, stdout and stderr: an open file expected, as io.stdin")
    assert.has_error(function() c:remove_container(id, true) end,
      "bad argument #2 to 'remove_container' (table expected, as {force = true})")
    code, err = dockerpty.exec_command(c, id, "sh -c 'unterminated")
    assert.is_nil(code)
    assert.equal("unterminated ' quote in command", err)
    code, err, kind = dockerpty.exec_command(c, id, "true")
    assert.is_nil(code)
    assert.equal(409, kind)
    assert.matches("is not running", err)
    assert.has_error(function() dockerpty.start("not a client", id) end)
    code, err, kind = dockerpty.start(c, id, { keys = { ["ctrl-a"] = 5 } })
    assert.same({ nil, 'key binding "ctrl-a": "detach" or a function expected', "config" }, { code, err, kind })
  end)
end)

describe("exec_command with capture #engine", function()
  local c, id

  setup(function()
    c = helpers.engine()
    id = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(id))
  end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("returns code, stdout and stderr apart, with no terminal involved", function()
    assert.same({ 3, "to out\n", "to err\n" },
      { dockerpty.exec_command(c, id, "sh -c 'echo to out; echo to err >&2; exit 3'", { capture = true }) })
    assert.same({ 0, "x=1 /etc 5\n", "" }, { dockerpty.exec_command(c, id, { "sh", "-c", "echo $X $(pwd) $(id -u)" },
      { capture = true, env = { "X=x=1" }, workdir = "/etc", user = "5" }) })
    -- output larger than a frame, whole and in order, both streams at once
    local code, out, err = dockerpty.exec_command(c, id,
      "sh -c 'seq 1 100000; seq 1 50000 >&2'", { capture = true })
    assert.equal(0, code)
    local want = {}
    for i = 1, 100000 do want[i] = i end
    assert.equal(table.concat(want, "\n", 1, 100000) .. "\n", out)
    assert.equal(table.concat(want, "\n", 1, 50000) .. "\n", err)
    -- with a tty, one stream, as a terminal shows it
    assert.same({ 0, "a\r\nb\r\n", "" }, { dockerpty.exec_command(c, id, "sh -c 'echo a; echo b >&2'",
      { capture = true, tty = true }) })
    -- its input is not ours: nothing reads stdin here
    assert.same({ 0, "0\n", "" }, { dockerpty.exec_command(c, id, "wc -c", { capture = true }) })
    -- a command that cannot run: the engine's word and its exit status, as docker exec gives them
    code, out = dockerpty.exec_command(c, id, "no-such-command", { capture = true })
    assert.equal(126, code)
    assert.matches("no%-such%-command", out)
  end)

  it("says what went wrong as nil, message, code", function()
    assert.same({ nil, "No such container: dockerpty-no-such-container", 404 },
      { dockerpty.exec_command(c, "dockerpty-no-such-container", "true", { capture = true }) })
    assert.has_error(function() dockerpty.exec_command(c, id, "true", { capture = "yes" }) end,
      "bad argument #4 to 'exec_command' (capture: a boolean expected)")
  end)
end)

describe("session hygiene #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  local function shell()
    return helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true, StdinOnce = true })
  end

  it("restores the terminal when the client gets SIGINT, SIGHUP or SIGQUIT", function()
    for _, sig in ipairs { 2, 1, 3 } do
      local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(shell())))
      local before = t:settings()
      t:expect("# ")
      t:kill(sig)
      local how, n = t:wait()
      if sig == 2 then
        -- the lua interpreter's own SIGINT handler turns it into an error, as it would have
        assert.same({ "exit", 1 }, { how, n })
        assert.matches("interrupted!", t.out)
      else
        assert.same({ "signal", sig }, { how, n })
      end
      assert.equal(before, t:settings())
      t:close()
    end
  end)

  it("keeps raw mode on after forwarding a signal to a container without a tty", function()
    local id = helpers.container(c, { OpenStdin = true, Cmd = { "sh", "-c",
      "trap 'echo got-USR1' USR1; trap 'echo got-TSTP' TSTP; trap 'exit 3' TERM; echo ready; "
      .. "while :; do sleep 1; done" } })
    local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q, { raw = true })"):format(id)))
    local cooked = t:settings()
    t:expect("ready")
    local raw = t:settings()
    assert.are_not.equal(cooked, raw)
    t:kill(10)
    t:expect("got%-USR1")
    assert.equal(raw, t:settings())
    t:kill(20) -- SIGTSTP: forwarded, as docker does, rather than stopping the client
    t:expect("got%-TSTP")
    assert.equal(raw, t:settings())
    t:kill(15) -- forwarded too: the container ends, and the terminal gets its settings back
    t:expect("RESULT:3:nil")
    t:wait()
    assert.equal(cooked, t:settings())
    t:close()
  end)

  -- The session's Lua program under a shell with job control, as a user's would be: a stop
  -- in the pty's own (orphaned) process group would be discarded.
  local print_pid = [[local f = io.open("/proc/self/stat"); io.write("PID:", f:read("n"), "\r\n"); f:close(); ]]
  local function job_program(call)
    return helpers.pty_run({ "bash", "-c",
      'set -m; "$LUA" -e "$PROG"; echo "STOPPED:$?"; read -r _; fg >/dev/null; echo "DONE:$?"' },
      { env = { LUA = helpers.lua, PROG = helpers.prelude .. print_pid .. session_program(call) } })
  end

  it("gives the terminal back while stopped by SIGTSTP and takes it again on fg #tstp", function()
    local t = job_program(("dockerpty.start(c, %q)"):format(shell()))
    local cooked = t:settings()
    local pid = t:expect("PID:(%d+)")
    t:expect("# ")
    local raw = t:settings()
    assert.are_not.equal(cooked, raw)
    assert(helpers.execute("kill -TSTP " .. pid))
    t:expect("STOPPED:148")
    assert.equal(cooked, t:settings())
    t:resize(30, 100) -- while stopped: the container learns of it on the resume
    t:send("\n")     -- the shell's fg
    for _ = 1, 50 do
      t:send("stty size\r")
      if t:expect("(%d+ %d+)") == "30 100" then break end
    end
    assert.equal(raw, t:settings())
    t:send("exit\r")
    t:expect("RESULT:0:nil")
    t:expect("DONE:0")
    t:wait()
    assert.equal(cooked, t:settings())
    t:close()
  end)

  it("leaves SIGTSTP ignored when it was ignored from the start", function()
    local t = helpers.pty_run({ "bash", "-c", [[trap '' TSTP; exec "$LUA" -e "$PROG"]] }, { env = {
      LUA = helpers.lua, PROG = helpers.prelude .. print_pid .. session_program(("dockerpty.start(c, %q)"):format(shell())) } })
    local lua_pid = t:expect("PID:(%d+)")
    t:expect("# ")
    local raw = t:settings()
    assert(helpers.execute("kill -TSTP " .. lua_pid))
    t:send("echo $((6*7))\r")
    t:expect("42")
    assert.equal(raw, t:settings())
    t:send("exit\r")
    t:expect("RESULT:0:nil")
    t:wait()
    t:close()
  end)

  it("takes the terminal again after SIGSTOP and SIGCONT", function()
    local t = job_program(("dockerpty.start(c, %q)"):format(shell()))
    local pid = t:expect("PID:(%d+)")
    t:expect("# ")
    local raw = t:settings()
    assert(helpers.execute("kill -STOP " .. pid))
    t:expect("STOPPED:147")
    assert(helpers.execute("stty -F /proc/" .. pid .. "/fd/0 sane")) -- as a shell would
    t:send("\n")
    t:send("echo $((6*7))\r") -- the container's answer, not a cooked terminal's echo
    t:expect("42")
    assert.equal(raw, t:settings())
    t:send("exit\r")
    t:expect("DONE:0")
    t:wait()
    t:close()
  end)

  it("restores the terminal when the client crashes #crash", function()
    for _, sig in ipairs { 11, 6 } do
      local t = helpers.pty_run({ "bash", "-c", 'ulimit -c 0; exec "$LUA" -e "$PROG"' }, { env = {
        LUA = helpers.lua,
        PROG = helpers.prelude .. session_program(("dockerpty.start(c, %q)"):format(shell())),
      } })
      local before = t:settings()
      t:expect("# ")
      assert.are_not.equal(before, t:settings())
      t:kill(sig)
      if sig == 11 and os.getenv("SANITIZE") == "1" then
        -- the handler before ours is AddressSanitizer's: it takes over, reports and exits 99
        assert.same({ "exit", 99 }, { t:wait() })
      else
        assert.same({ "signal", sig }, { t:wait() })
      end
      assert.equal(before, t:settings())
      t:close()
    end
  end)

  it("restores the terminal when a Lua error unwinds through the session", function()
    local t = helpers.pty_lua(([[
      local dockerpty = require "dockerpty"
      local c = assert(dockerpty.client())
      local ok, err = pcall(dockerpty.start, c, %q, { keys = { ["ctrl-g"] = function() error("boom") end } })
      io.write("\r\nCAUGHT:", tostring(ok), ":", tostring(err):match("boom") or "?", "\r\n")
    ]]):format(shell()))
    local before = t:settings()
    t:expect("# ")
    t:send("\7")
    t:expect("CAUGHT:false:boom", 10, true)
    t:wait()
    assert.equal(before, t:settings())
    t:close()
  end)

  it("wakes up for nothing while idle", function()
    local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(shell())),
      { rows = 30, cols = 100 })
    t:expect("# ")
    -- settled: the start's answer is in and the container's pty sized
    for _ = 1, 50 do
      t:send("stty size\r")
      if t:expect("(%d+ %d+)") == "30 100" then break end
    end
    t:expect("# ")
    local function switches()
      local f = assert(io.open("/proc/" .. t.p:pid() .. "/status"))
      local s = f:read("a")
      f:close()
      return tonumber(s:match("voluntary_ctxt_switches:%s*(%d+)")) +
        tonumber(s:match("nonvoluntary_ctxt_switches:%s*(%d+)"))
    end
    local before = switches()
    require("dockerpty.core").sleep(1.5)
    local woke = switches() - before
    assert(woke <= 2, ("the session woke %d times in 1.5 s of quiet"):format(woke))
    t:send("exit\r")
    t:wait()
    t:close()
  end)

  it("keeps memory bounded when the output side is slow", function()
    local function peak(bytes)
      local id = helpers.container(c, { Cmd = { "head", "-c", tostring(bytes), "/dev/zero" } })
      local code = ([[
        package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path
        package.cpath = %q .. package.cpath
        local dockerpty = require "dockerpty"
        local c = assert(dockerpty.client())
        assert(dockerpty.start(c, %q) == 0)
        local f = io.open("/proc/self/status")
        io.stderr:write(f:read("a"):match("VmHWM:%%s*(%%d+)"), "\n")
      ]]):format(package.cpath:match("^[^;]*;"), id)
      -- through a pipe whose reader starts late: the pump must wait, not buffer
      local report = tmpfile()
      assert(helpers.execute(("%s -e %s 2>%s | (sleep 1; cat > /dev/null)"):format(helpers.lua,
        helpers.shell_quote(code), report)))
      local text = read_file(report)
      os.remove(report)
      return assert(tonumber(text:match("^(%d+)")), "the program reported no peak memory:\n" .. text)
    end
    local kb_small = peak(1024 * 1024)
    local kb_big = peak(100 * 1024 * 1024)
    assert.is_true(kb_big - kb_small < 4096, ("peak %d kB for 1 MB, %d kB for 100 MB"):format(kb_small, kb_big))
  end)

  it("grows a stdout pipe to hold a full read, so a session ends before its reader starts", function()
    -- 200 kB is more than a pipe's default 64 KiB: unless the pump grows the pipe, it waits
    -- for the reader, and the reader waits (up to 20 s) for the session to end first.
    local id = helpers.container(c, { Cmd = { "head", "-c", "200000", "/dev/zero" } })
    local done = tmpfile()
    os.remove(done)
    local code = ([[
      package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path
      package.cpath = %q .. package.cpath
      local dockerpty = require "dockerpty"
      local c = assert(dockerpty.client())
      local code = dockerpty.start(c, %q)
      local f = assert(io.open(%q, "w"))
      f:write(tostring(code), "\n")
      f:close()
    ]]):format(package.cpath:match("^[^;]*;"), id, done)
    local p = assert(io.popen(("%s -e %s | { i=0; while [ ! -s %s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; "
      .. "[ -s %s ] && echo ended-first || echo waited; wc -c; }"):format(helpers.lua, helpers.shell_quote(code), done, done)))
    local report = p:read("a")
    p:close()
    local status = read_file(done)
    os.remove(done)
    assert.equal("ended-first\n200000\n", (report:gsub("[ \t]+", "")))
    assert.equal("0\n", status)
  end)

  it("survives a reader that goes away: no SIGPIPE, a clear error, filtered or not", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "while true; do echo line; done" } })
    -- filtered, the output goes out through Lua's io rather than the pump's own writes
    for _, opts in ipairs { "{}", "{ filter_escapes = true }" } do
      local code = ([[
        package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path
        package.cpath = %q .. package.cpath
        local dockerpty = require "dockerpty"
        local c = assert(dockerpty.client())
        local code, err = dockerpty.start(c, %q, %s)
        io.stderr:write("RESULT:", tostring(code), ":", tostring(err), "\n")
      ]]):format(package.cpath:match("^[^;]*;"), id, opts)
      local report = tmpfile()
      local p = assert(io.popen(("bash -c %s"):format(helpers.shell_quote(
        ("timeout -s KILL 20 %s -e %s 2>%s | head -c 100 >/dev/null; echo ${PIPESTATUS[0]}"):format(
          helpers.lua, helpers.shell_quote(code), report)))))
      local status = p:read("a")
      p:close()
      assert.equal("0\n", status, opts)
      assert.equal("RESULT:nil:cannot write to stdout: Broken pipe\n", read_file(report), opts)
      os.remove(report)
    end
    c:kill(id)
  end)

  it("gives a tty container no input when stdin is not a terminal, as docker run -t", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "echo tty-out; exit 2" }, Tty = true, OpenStdin = true })
    local out = tmpfile()
    local fo = assert(io.open(out, "wb"))
    local fin = assert(io.open("/dev/null", "rb"))
    assert.equal(2, dockerpty.start(c, id, { stdin = fin, stdout = fo }))
    fo:close()
    fin:close()
    assert.equal("tty-out\r\n", read_file(out))
    os.remove(out)
  end)
end)

describe("session.engine_detach_keys", function()
  local session = require "dockerpty.session"

  it("spells the keys as docker's engine reads them", function()
    assert.equal("ctrl-p,ctrl-q", session.engine_detach_keys(nil))
    assert.equal("ctrl-p,ctrl-q", session.engine_detach_keys("CTRL-P,Ctrl-q"))
    assert.equal("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,DEL,x,Q",
      session.engine_detach_keys("ctrl-@,CTRL-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,del,x,Q"))
    assert.equal("\xff,\xfe,\xff,\xfe,\xff,\xfe,\xff,\xfe", session.engine_detach_keys(""))
    assert.equal("ctrl-],ctrl-@,ctrl-],ctrl-@,ctrl-],ctrl-@,ctrl-],ctrl-@", session.engine_detach_keys("", true))
  end)
end)
