-- Things going wrong under a session, against the real engine: the container dies or goes
-- away, input ends early, resizes come in bursts or too late, sessions come and go by the
-- thousand.
local dockerpty = require "dockerpty"
local helpers = require "helpers"

local function session_program(call)
  return ([[
    local dockerpty = require "dockerpty"
    local c = assert(dockerpty.client())
    local code, err, kind = %s
    io.stdout:write("\r\nRESULT:", tostring(code), ":", tostring(err), "\r\n")
    io.stdout:flush()
  ]]):format(call)
end

local function count_fds()
  local p = assert(io.popen("ls /proc/self/fd 2>/dev/null | wc -l"))
  local n = tonumber(p:read("*a"))
  p:close()
  return n
end

-- What malloc has handed out and not had back, in kB: the resident size would also count
-- what it keeps after frees, which depends on what the specs before this one did.
local function heap_kb()
  return math.floor(require("testpty").heap_in_use() / 1024)
end

describe("faults #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("report a container killed under the session: 137", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "echo up; sleep 300" } })
    local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)))
    t:expect("up")
    assert(c:kill(id, "SIGKILL"))
    assert.equal("137:nil", t:expect("RESULT:([^\r]*)"))
    t:wait()
    t:close()
  end)

  it("end cleanly when the container is removed while attached", function()
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true })
    local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)))
    local before = t:settings()
    t:expect("# ")
    assert(c:remove_container(id, { force = true }))
    local result = t:expect("RESULT:([^\r]*)")
    assert.matches("^137:nil$", result)
    t:wait()
    assert.equal(before, t:settings())
    t:close()
  end)

  it("take stdin that ends early, ten resizes at once, and a resize after the end", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "read x; echo got-$x; " ..
      -- the burst's last size, however long the burst takes to arrive (a second at most)
      "i=0; while [ \"$(stty size)\" != '30 80' ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size" },
      Tty = true, OpenStdin = true, StdinOnce = true })
    local t = helpers.pty_lua(session_program(("dockerpty.start(c, %q)"):format(id)), { rows = 20, cols = 70 })
    t:send("early\r")
    t:expect("got%-early")
    for i = 1, 10 do t:resize(20 + i, 70 + i) end
    assert.equal("30 80", t:expect("(%d+ %d+)"))
    t:expect("RESULT:0:nil")
    t:wait()
    t:close()
    local ok, err, code = c:resize(id, 24, 80) -- the container has exited
    assert.is_nil(ok)
    assert.is_string(err)
    assert.is_number(code)
  end)

  -- spec/support/relay.py passes everything between the command and the real engine, but
  -- stops taking the command's writes once the attach is sent: each write fails (EPIPE)
  -- while the output keeps coming. Input is lost, as with the docker CLI; output is not.
  -- Starts the relay in mode; its socket's path. It ends with the spec.
  local function relay(mode)
    local sock = os.tmpname()
    os.remove(sock)
    local engine = (os.getenv("DOCKER_HOST") or ""):match("^unix://(.+)") or "/var/run/docker.sock"
    local p = assert(io.popen(("python3 spec/support/relay.py %s %s %s >/dev/null 2>&1 & echo $!")
      :format(sock, engine, mode)))
    local pid = p:read("*l")
    p:close()
    finally(function() os.execute("kill " .. pid .. "; rm -f " .. sock) end)
    for _ = 1, 100 do
      if helpers.execute("test -S " .. sock) then break end
      require("dockerpty.core").sleep(0.05)
    end
    return sock
  end

  it("deliver the output to its end and the exit code when the container's input breaks", function()
    local sock = relay("attach")
    local input = os.tmpname()
    local f = assert(io.open(input, "wb"))
    f:write(("typed\n"):rep(500000)) -- 3 MB: far more than a socket holds
    f:close()
    local out, err, status = helpers.dockerpty({ "-H", "unix://" .. sock, "run", "-i", "--rm", "-l", helpers.label,
      "busybox", "sh", "-c", "sleep 0.5; head -c 1000000 /dev/zero | tr '\\0' x; exit 3" }, { stdin = input })
    os.remove(input)
    assert.equal("", err)
    assert.equal(3, status)
    assert.equal(1000000, #out)
    assert.is_nil(out:find("[^x]"))
  end)

  it("deliver an open() session's output and exit code when the container's input breaks", function()
    local sock = relay("attach")
    local rc = assert(dockerpty.client { host = "unix://" .. sock })
    local s = assert(dockerpty.open(rc, { image = "busybox", tty = false, labels = { [helpers.label] = "" },
      command = { "sh", "-c", "sleep 0.5; echo out-$((6*7)); exit 3" } }))
    for _ = 1, 20 do s:write(("typed\n"):rep(50000)) end -- 6 MB: far more than a socket holds
    assert.equal(3, s:wait({ timeout = 20 }))
    assert.equal("out-42\n", s:output())
    s:close()
    rc:close()
  end)

  it("give what the engine said before a stream broke, and remove the --rm container", function()
    local sock = relay("reset")
    local input = os.tmpname()
    local f = assert(io.open(input, "wb"))
    f:write("typed\n")
    f:close()
    local function ours() return #assert(c:containers { all = true, filters = { label = { helpers.label } } }) end
    local before = ours()
    local out, err, status = helpers.dockerpty({ "-H", "unix://" .. sock, "run", "-i", "--rm", "-l", helpers.label,
      "busybox", "sh", "-c", "sleep 0.5; cat" }, { stdin = input })
    os.remove(input)
    assert.equal("", out)
    assert.equal(125, status)
    assert.matches("^dockerpty: stream: reading from unix://[^\n]*: Recv failure: Connection reset by peer "
      .. "%(the engine said: relay: the engine has gone away%)\n$", err)
    -- the engine closed the container's input with the stream: cat ends, and the engine
    -- removes it, as --rm asked (AutoRemove)
    for _ = 1, 100 do
      if ours() == before then break end
      require("dockerpty.core").sleep(0.1)
    end
    assert.equal(before, ours())
  end)

  it("raise what a key's function raised with the terminal put back and nothing left open", function()
    local ids = {}
    for i = 1, 2 do ids[i] = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true }) end
    local t = helpers.pty_lua(([[
      local dockerpty = require "dockerpty"
      local c = assert(dockerpty.client())
      local function fds()
        -- this process's, from its shell, leaving out both ends of popen's own pipe: the
        -- write end may still be open here while ls reads the list
        local p = io.popen("me=$(readlink /proc/$$/fd/1); ls -l /proc/$PPID/fd | grep -F -e '->' | grep -c -v -F -e \"$me\"")
        local n = tonumber(p:read("*a"))
        p:close()
        return n
      end
      local opts = { keys = { ["ctrl-g"] = function() error("boom", 0) end } }
      local ok, err = pcall(dockerpty.start, c, %q, opts)
      local after_first = fds() -- the client's connections and the signal pipe are there from now on
      io.stdout:write("\r\nRAISED:", tostring(ok), ":", tostring(err), "\r\n")
      pcall(dockerpty.start, c, %q, opts)
      io.stdout:write("\r\nMORE FDS:", fds() - after_first, "\r\n")
    ]]):format(ids[1], ids[2]))
    local before = t:settings()
    t:expect("# ")
    t:send("\7")
    assert.equal("false:boom", t:expect("RAISED:([^\r]*)"))
    t:expect("# ")
    t:send("\7")
    assert.equal("0", t:expect("MORE FDS:([^\r]*)"))
    t:wait()
    assert.equal(before, t:settings())
    t:close()
  end)

  it("send a bound key's bytes after what was typed before it, however long the input stalls", function()
    local sock = relay("stall")
    local n = 20000 -- 2 MB typed: the stall fills the socket, and the pump waits on it
    local id = helpers.container(c, { Tty = true, OpenStdin = true, Cmd = { "sh", "-c",
      ("stty raw -echo; echo READY; head -c %d | md5sum"):format(n * 101) } })
    local t = helpers.pty_lua(session_program(([[dockerpty.start(c, %q, { keys = {
        ["ctrl-g"] = function(s) s:send("Z") end } })]]):format(id)), { env = { DOCKER_HOST = "unix://" .. sock } })
    t:expect("READY")
    t:send((("b"):rep(100) .. "\7"):rep(n))
    local name = os.tmpname()
    local f = assert(io.open(name, "wb"))
    f:write((("b"):rep(100) .. "Z"):rep(n))
    f:close()
    local want = helpers.md5_file(name)
    os.remove(name)
    assert.equal(want, t:expect("(%x+)  %-", 30))
    t:expect("RESULT:0:nil")
    t:wait()
    t:close()
  end)

  it("remove a container that open() created when what follows the create fails", function()
    local sock = relay("inspect")
    local rc = assert(dockerpty.client { host = "unix://" .. sock })
    local before = #helpers.ours(c)
    local s, err, code = dockerpty.open(rc, { image = "busybox", command = { "true" },
      labels = { [helpers.label] = "" } })
    rc:close()
    assert.is_nil(s)
    assert.equal("transport", code, err)
    assert.equal(before, #helpers.ours(c))
  end)

  it("deliver megabytes with no newline #heavy", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "head -c 3145728 /dev/zero | tr '\\0' x" } })
    local name = os.tmpname()
    local f = assert(io.open(name, "wb"))
    assert.equal(0, dockerpty.start(c, id, { stdout = f }))
    f:close()
    f = assert(io.open(name, "rb"))
    local s = f:read("*a")
    f:close()
    os.remove(name)
    assert.equal(3145728, #s)
    assert.is_nil(s:find("[^x]"))
  end)

  it("open and close 1000 sessions with no growth in fds or memory #heavy", function()
    local id = helpers.container(c, { Cmd = { "sleep", "3600" } })
    assert(c:start(id))
    local function round(n)
      for _ = 1, n do
        local s = assert(dockerpty.open(c, { container = id, command = { "true" }, tty = false }))
        assert.equal(0, s:wait({ timeout = 10 }), s:output())
        s:close()
      end
      collectgarbage()
      collectgarbage()
    end
    round(100)
    local fds, heap = count_fds(), heap_kb()
    round(900)
    assert.equal(fds, count_fds())
    -- AddressSanitizer holds freed memory back on purpose (its quarantine), so memory is
    -- measured in the plain run, where it means something.
    if os.getenv("SANITIZE") ~= "1" then
      assert.is_true(heap_kb() - heap < 512, ("the heap grew from %d to %d kB"):format(heap, heap_kb()))
    end
  end)
end)
