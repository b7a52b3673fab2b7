-- The dockerpty command against the real engine, in a pseudo-terminal where it matters.
local helpers = require "helpers"
local core = require "dockerpty.core"

local SIGTERM, SIGUSR1, SIGUSR2 = 15, 10, 12

local function dp(args, opts) return helpers.dockerpty(args, opts) end

describe("dockerpty run #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("passes -e, -w, -u, --hostname, --network and --entrypoint to the container", function()
    local out, err, status = dp { "run", "--rm", "-l", helpers.label, "-e", "FOO=bar", "--env=BAZ=qux",
      "-w", "/etc", "-u", "1234:5678", "--hostname", "hh", "busybox",
      "sh", "-c", "echo $FOO $BAZ $(pwd) $(id -u):$(id -g) $(hostname)" }
    assert.equal(0, status, err)
    assert.equal("bar qux /etc 1234:5678 hh\n", out)
    -- -h is the host name, as in docker run, not --help
    out, err, status = dp { "run", "--rm", "-l", helpers.label, "-h", "web1", "busybox", "hostname" }
    assert.equal(0, status, err)
    assert.equal("web1\n", out)
    out, err, status = dp { "run", "--rm", "-l", helpers.label, "--network", "none", "busybox", "cat", "/proc/net/dev" }
    assert.equal(0, status, err)
    assert.matches("lo:", out)
    assert.equal(3, select(2, out:gsub("\n", ""))) -- two header lines and lo: nothing else
    out, err, status = dp { "run", "--rm", "-l", helpers.label, "--entrypoint", "echo", "busybox", "from", "entrypoint" }
    assert.equal(0, status, err)
    assert.equal("from entrypoint\n", out)
  end)

  it("passes -e NAME with this side's value, as docker does, and refuses -e =x", function()
    local out, err, status = dp({ "run", "--rm", "-l", helpers.label, "-e", "DP_SET", "-e", "DP_UNSET",
      "busybox", "sh", "-c", "echo ${DP_SET-none} ${DP_UNSET-none}" }, { env = { DP_SET = "here" } })
    assert.equal(0, status, err)
    assert.equal("here none\n", out)
    out, err, status = dp { "run", "--rm", "-l", helpers.label, "-e", "=x", "busybox", "true" }
    assert.equal(125, status)
    assert.equal("dockerpty: invalid environment variable: =x\n", err)
    assert.equal("", out)
    out, err, status = dp { "run", "--rm", "-l", helpers.label, "--env=", "busybox", "true" }
    assert.equal(125, status)
    assert.equal("dockerpty: invalid environment variable: \n", err)
    assert.equal("", out)
  end)

  it("runs -dit with no terminal: a detached run attaches nothing", function()
    local out, err, status = dp { "run", "-dit", "-l", helpers.label, "busybox", "sh" }
    assert.equal(0, status, err)
    local id = out:match("^(%x+)\n$")
    assert.is_true(assert(c:inspect_container(id)).State.Running)
  end)

  it("names and labels the container, and -d prints its id", function()
    local out, err, status = dp { "run", "-d", "--name", "dockerpty-spec-named", "-l", helpers.label,
      "-l", "tier=test", "busybox", "sleep", "300" }
    assert.equal(0, status, err)
    local id = out:match("^(%x+)\n$")
    assert.equal(64, #id)
    local info = assert(c:inspect_container("dockerpty-spec-named"))
    assert.equal(id, info.Id)
    assert.equal("test", info.Config.Labels.tier)
    assert.is_true(info.State.Running)
  end)

  it("exits with the container's code, 127 for a missing command, 125 for a missing image", function()
    local _, _, status = dp { "run", "--rm", "-l", helpers.label, "busybox", "sh", "-c", "exit 3" }
    assert.equal(3, status)
    local _, err
    _, err, status = dp { "run", "--rm", "-l", helpers.label, "busybox", "dockerpty-no-such-command" }
    assert.equal(127, status)
    assert.matches("^dockerpty: .*executable file not found", err)
    assert.equal(1, select(2, err:gsub("\n", ""))) -- one line
    _, err, status = dp { "run", "--rm", "dockerpty-no-such-image" }
    assert.equal(125, status)
    assert.equal("dockerpty: Unable to find image 'dockerpty-no-such-image:latest' locally, "
      .. "and dockerpty never pulls: build or load it first\n", err)
  end)

  it("gets the exit code at API 1.30, and refuses an older DOCKER_API_VERSION in one line", function()
    local out, err, status = dp({ "run", "--rm", "-l", helpers.label, "busybox", "sh", "-c",
      "sleep 0.3; echo late; exit 4" }, { env = { DOCKER_API_VERSION = "1.30" } })
    assert.equal("", err)
    assert.equal("late\n", out)
    assert.equal(4, status)
    local id = helpers.container(c, { Cmd = { "sleep", "60" } })
    assert(c:start(id))
    local before = #assert(c:containers { all = true })
    for _, cmd in ipairs { { "run", "--rm", "busybox", "true" }, { "attach", id }, { "exec", id, "true" } } do
      out, err, status = dp(cmd, { env = { DOCKER_API_VERSION = "1.29" } })
      assert.equal(125, status)
      assert.equal("", out)
      assert.equal("dockerpty: API version 1.29 is older than 1.30, the oldest dockerpty supports\n", err)
    end
    assert.equal(before, #assert(c:containers { all = true }))
  end)

  it("keeps a closed stdin, stdout or stderr from being taken by a socket", function()
    local err = os.tmpname()
    local function run(redirect)
      local out, status = helpers.popen_status(("%s bin/dockerpty run --rm -i -l %s busybox sh -c %s 2>%s %s")
        :format(helpers.lua, helpers.label, helpers.shell_quote("echo in=$(wc -c); exit 2"), err, redirect))
      local f = assert(io.open(err))
      local e = f:read("a")
      f:close()
      return out, e, status
    end
    -- stdout closed: writing to it fails as it does on a closed descriptor, in one line
    local out, e, status = run(">&- </dev/null")
    assert.equal("", out)
    assert.equal("dockerpty: cannot write to stdout: Bad file descriptor\n", e)
    assert.equal(125, status)
    -- stdin closed: the container reads the end of its input
    out, e, status = run("<&-")
    assert.equal("in=0\n", out)
    assert.equal("", e)
    assert.equal(2, status)
    -- stderr closed: stdout is whole
    out, e, status = run("</dev/null 2>&-")
    assert.equal("in=0\n", out)
    assert.equal(2, status)
    assert.equal("", e) -- nothing reached the file that stderr was before it was closed
    os.remove(err)
  end)

  it("removes a --rm container when it exits, even when it never started", function()
    local before = #assert(c:containers { all = true })
    local _, _, status = dp { "run", "--rm", "busybox", "true" }
    assert.equal(0, status)
    _, _, status = dp { "run", "--rm", "busybox", "dockerpty-no-such-command" }
    assert.equal(127, status)
    core.sleep(0.5)
    assert.equal(before, #assert(c:containers { all = true }))
  end)

  it("opens a shell with -it, and --rm removes it on exit", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "run", "-it", "--rm", "--name",
      "dockerpty-spec-it", "busybox", "sh" }, { rows = 27, cols = 77 })
    t:expect("# ")
    t:send("stty size\r")
    assert.equal("27 77", t:expect("(%d+ %d+)"))
    t:send("exit 5\r")
    assert.same({ "exit", 5 }, { t:wait() })
    t:close()
    core.sleep(0.3)
    local gone, _, code = c:inspect_container("dockerpty-spec-it")
    assert.is_nil(gone)
    assert.equal(404, code)
  end)

  it("leaves a --rm container running when the user detaches", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "run", "-it", "--rm", "--name",
      "dockerpty-spec-detach", "-l", helpers.label, "busybox", "sh" })
    local before = t:settings()
    t:expect("# ")
    t:send("\16\17")
    assert.same({ "exit", 0 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()
    local info = assert(c:inspect_container("dockerpty-spec-detach"))
    assert.is_true(info.State.Running)
    assert(c:kill(info.Id))
  end)

  it("forwards SIGUSR1, SIGUSR2 and SIGTERM to a container without a tty", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "run", "--rm", "-l", helpers.label, "busybox",
      "sh", "-c", "trap 'echo got-USR1' USR1; trap 'echo got-USR2' USR2; trap 'echo got-TERM; exit 42' TERM; "
        .. "echo ready; while true; do sleep 0.1; done" })
    t:expect("ready")
    t:kill(SIGUSR1)
    t:expect("got%-USR1")
    t:kill(SIGUSR2)
    t:expect("got%-USR2")
    t:kill(SIGTERM)
    t:expect("got%-TERM")
    assert.same({ "exit", 42 }, { t:wait() })
    t:close()
  end)

  it("refuses -it when stdin is not a terminal, with docker's words", function()
    local _, err, status = dp { "run", "-it", "--rm", "busybox", "sh" }
    assert.equal(1, status)
    assert.equal("dockerpty: the input device is not a TTY\n", err)
  end)

  it("takes detach keys from the docker config file, and --detach-keys over them", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir -p " .. dir))
    local f = assert(io.open(dir .. "/config.json", "w"))
    f:write('{"auths": {}, "detachKeys": "ctrl-x,x"}')
    f:close()
    -- run -it with these flags, then type keys: they must detach (exit 0, the container left running)
    local function detaches(keys, ...)
      local argv = { helpers.lua, "bin/dockerpty", "run", "-it", ... }
      for _, a in ipairs { "-l", helpers.label, "busybox", "sh" } do argv[#argv + 1] = a end
      local t = helpers.pty_run(argv, { env = { DOCKER_CONFIG = dir } })
      t:expect("# ")
      t:send(keys)
      assert.same({ "exit", 0 }, { t:wait() })
      t:close()
    end
    detaches("\24x")
    detaches("\1", "--detach-keys", "ctrl-a")
    -- docker's engine reads only lower-case names: ours go to it as it spells them
    detaches("\1\127", "--detach-keys", "CTRL-A,DEL")
    -- an empty --detach-keys is no flag at all, as in docker: the file's keys hold
    detaches("\24x", "--detach-keys=")
    -- an empty file is no settings at all; a directory in its place is warned about and passed over
    f = assert(io.open(dir .. "/config.json", "w"))
    f:close()
    local out, err, status = dp({ "run", "--rm", "busybox", "echo", "ok" }, { env = { DOCKER_CONFIG = dir } })
    assert.same({ "ok\n", "", 0 }, { out, err, status })
    os.remove(dir .. "/config.json")
    assert(helpers.execute("mkdir " .. dir .. "/config.json"))
    out, err, status = dp({ "run", "--rm", "busybox", "echo", "ok" }, { env = { DOCKER_CONFIG = dir } })
    assert.same({ "ok\n", ("WARNING: ignoring %s/config.json: Is a directory\n"):format(dir), 0 }, { out, err, status })
    assert(helpers.execute("rmdir " .. dir .. "/config.json"))
    -- a bad spec in the file is blamed on the file
    f = assert(io.open(dir .. "/config.json", "w"))
    f:write('{"detachKeys": "ctrl-"}')
    f:close()
    out, err, status = dp({ "run", "--rm", "busybox", "true" }, { env = { DOCKER_CONFIG = dir } })
    assert.equal(125, status)
    assert.equal("", out)
    assert.matches("^dockerpty: detachKeys in " .. dir:gsub("%p", "%%%0") .. "/config%.json: [^\n]+\n$", err)
    os.execute("rm -rf " .. dir)
  end)
end)

describe("dockerpty exec and attach #engine", function()
  local c, id

  setup(function()
    c = helpers.engine()
    id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true }, { name = "dockerpty-spec-target" })
    assert(c:start(id))
  end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("execs by name, full id and unique id prefix, with flags and exit codes", function()
    for _, ref in ipairs { "dockerpty-spec-target", id } do
      local out, err, status = dp { "exec", "-e", "X=1", "-w", "/bin", "-u", "42", ref, "sh", "-c",
        "echo $X $(pwd) $(id -u); exit 6" }
      assert.equal(6, status, err)
      assert.equal("1 /bin 42\n", out)
    end
    -- the shortest prefix that names only this container
    local all = assert(c:containers { all = true })
    local n = 1
    while true do
      local clash = false
      for _, other in ipairs(all) do
        if other.Id ~= id and other.Id:sub(1, n) == id:sub(1, n) then clash = true end
      end
      if not clash then break end
      n = n + 1
    end
    local out, _, status = dp { "exec", id:sub(1, n), "echo", "by-prefix" }
    assert.equal(0, status)
    assert.equal("by-prefix\n", out)
    local _, err
    _, err, status = dp { "exec", id, "dockerpty-no-such-command" }
    assert.is_true(status == 126 or status == 127, err)
  end)

  it("says which containers an ambiguous prefix could mean", function()
    -- make containers until two share a first hex digit (at most 17 are needed)
    local seen, prefix = {}, nil
    for _ = 1, 17 do
      local other = helpers.container(c, { Cmd = { "true" } })
      local d = other:sub(1, 1)
      if seen[d] then prefix = d break end
      seen[d] = other
    end
    local all = assert(c:containers { all = true })
    local count = 0
    for _, ct in ipairs(all) do if ct.Id:sub(1, 1) == prefix then count = count + 1 end end
    local _, err, status = dp { "attach", prefix }
    assert.equal(125, status)
    assert.matches(('^dockerpty: "%s" matches %d containers: '):format(prefix, count), err)
    assert.equal(count, select(2, err:gsub("%x%x%x%x%x%x%x%x%x%x%x%x %(", "")))
  end)

  it("names an unknown container, a stopped one and an unreachable engine", function()
    local _, err, status = dp { "attach", "dockerpty-no-such-container" }
    assert.equal(125, status)
    assert.equal("dockerpty: No such container: dockerpty-no-such-container\n", err)
    _, err, status = dp { "exec", "dockerpty-no-such-container", "sh" }
    assert.equal(125, status)
    assert.equal("dockerpty: No such container: dockerpty-no-such-container\n", err)
    local stopped = helpers.container(c, { Cmd = { "true" } }, { name = "dockerpty-spec-stopped" })
    _, err, status = dp { "attach", stopped }
    assert.equal(1, status)
    assert.equal("dockerpty: You cannot attach to a stopped container, start it first\n", err)
    _, err, status = dp { "attach", "/dockerpty-spec-stopped" } -- a name as the engine lists it
    assert.equal(1, status)
    assert.equal("dockerpty: You cannot attach to a stopped container, start it first\n", err)
    _, err, status = dp { "-H", "unix:///nonexistent/docker.sock", "ps" }
    assert.equal(125, status)
    assert.equal("dockerpty: cannot connect to unix:///nonexistent/docker.sock: No such file or directory "
      .. "(is the engine running?)\n", err)
    _, err, status = dp({ "ps" }, { env = { DOCKER_HOST = "tcp//oops" } })
    assert.equal(125, status)
    assert.equal('dockerpty: invalid engine host "tcp//oops": expected unix:///path or tcp://host:port\n', err)
    -- a socket this user may not use is not said to be a stopped engine: here, a mode 000
    -- socket, and a root with no capabilities, so that the mode holds for it too
    local sock = os.tmpname()
    os.remove(sock)
    assert(helpers.execute(("python3 -c %s %s"):format(helpers.shell_quote(
      "import os, socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1]); os.chmod(sys.argv[1], 0)"), sock)))
    local out
    out, status = helpers.popen_status(("setpriv --bounding-set=-all --inh-caps=-all %s bin/dockerpty -H unix://%s ps 2>&1")
      :format(helpers.lua, sock))
    assert.equal(125, status)
    assert.equal(("dockerpty: cannot connect to unix://%s: Permission denied (is this user allowed to use it?)\n")
      :format(sock), out)
    _, err, status = dp { "-H", "unix://" .. sock, "ps" }
    assert.equal(125, status)
    assert.equal(("dockerpty: cannot connect to unix://%s: Connection refused (is the engine running?)\n"):format(sock), err)
    os.remove(sock)
    -- no container and no terminal to pick one on is a usage error, as docker's missing argument
    for _, cmd in ipairs { "attach", "exec" } do
      _, err, status = dp { cmd }
      assert.equal(1, status)
      assert.equal(('dockerpty: "%s" requires a container when stdin is not a terminal\n'
        .. "See 'dockerpty %s --help'.\n"):format(cmd, cmd), err)
    end
  end)

  it("names a bad flag and a bad detach-key spec", function()
    local _, err, status = dp { "exec", "--nope", "x", "sh" }
    assert.equal(125, status)
    assert.equal("dockerpty: unknown flag: --nope\nSee 'dockerpty exec --help'.\n", err)
    _, err, status = dp { "attach", "--detach-keys", "ctrl-p,ctrl-qq", "dockerpty-spec-target" }
    assert.equal(125, status)
    assert.equal('dockerpty: --detach-keys: invalid key spec "ctrl-p,ctrl-qq": unknown key "ctrl-qq"\n', err)
    _, err, status = dp { "frobnicate" }
    assert.equal(125, status)
    assert.matches("'frobnicate' is not a dockerpty command", err)
  end)

  it("attaches to a running shell, and detaching leaves it running", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "attach", "dockerpty-spec-target" })
    t:send("\r")
    t:expect("# ")
    t:send("echo attached-$((4+4))\r")
    t:expect("attached%-8")
    t:send("\16\17")
    assert.same({ "exit", 1 }, { t:wait() }) -- as docker attach ends a detach
    t:expect("read escape sequence")
    t:close()
    assert.is_true(assert(c:inspect_container(id)).State.Running)
  end)

  it("runs exec -it with a tty, and refuses it without a terminal", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "exec", "-it", "dockerpty-spec-target", "sh" },
      { rows = 31, cols = 97 })
    t:expect("# ")
    t:send("stty size\r")
    assert.equal("31 97", t:expect("(%d+ %d+)"))
    t:send("exit 9\r")
    assert.same({ "exit", 9 }, { t:wait() })
    t:close()
    local _, err, status = dp { "exec", "-it", "dockerpty-spec-target", "sh" }
    assert.equal(1, status)
    assert.equal("dockerpty: the input device is not a TTY\n", err)
  end)

  it("picks a container with typed keys, and attach without a name opens the picker", function()
    local a = helpers.container(c, { Cmd = { "sleep", "300" } }, { name = "dockerpty-spec-pick-alpha" })
    local b = helpers.container(c, { Cmd = { "sleep", "300" } }, { name = "dockerpty-spec-pick-beta" })
    assert(c:start(a))
    assert(c:start(b))
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "pick" })
    local before = t:settings()
    t:expect("pick a container")
    t:expect("dockerpty%-spec%-pick%-beta")
    t:send("pickbeta")
    core.sleep(0.2)
    t:send("\r")
    t:expect(b)
    assert.same({ "exit", 0 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()

    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "pick" })
    t:expect("dockerpty%-spec%-pick%-alpha")
    t:send("spec-pick")
    t:expect("> spec%-pick")
    local second = t:expect("\n  (dockerpty%-spec%-pick%-%a+)") -- the row below the chosen one
    t:send("\27[B") -- down
    core.sleep(0.2)
    t:send("\r")
    t:expect(second == "dockerpty-spec-pick-alpha" and a or b)
    t:wait()
    t:close()

    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "pick" })
    t:expect("pick a container")
    t:send("\27")
    assert.same({ "exit", 1 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()

    -- a resize draws again; SIGTERM puts the screen and the terminal back, then ends it
    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "pick" })
    t:expect("pick a container")
    t:resize(30, 100)
    t:expect("pick a container")
    t:kill(15)
    assert.same({ "signal", 15 }, { t:wait() })
    t:expect("\27%[%?1049l")
    assert.equal(before, t:settings())
    t:close()

    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "attach" })
    t:expect("pick a container")
    t:send("spec-target")
    core.sleep(0.2)
    t:send("\r")
    t:send("\r")
    t:expect("# ")
    t:send("\16\17")
    assert.same({ "exit", 1 }, { t:wait() })
    t:close()

    -- with stdout not a terminal, the picker draws on stderr, and keys other than the ones it
    -- knows (Delete, Page Down, ctrl-left, alt-x) are nothing; a command's newline and escape
    -- are shown, not obeyed
    local odd = helpers.container(c, { Cmd = { "sh", "-c", "sleep 300\n#\27]0;title\7" } },
      { name = "dockerpty-spec-pick-odd" })
    assert(c:start(odd))
    local out_file = os.tmpname()
    t = helpers.pty_run({ "sh", "-c", ('exec "$0" bin/dockerpty attach > %s'):format(out_file), helpers.lua },
      { cols = 200 })
    t:expect("pick a container")
    t:expect("sleep 300\\n#\\x1b%]0;title\\a")
    t:send("\27[3~\27[6~\27[1;5D\27x")
    t:send("pickodd")
    t:expect("> pickodd")
    t:send("\3")
    assert.same({ "exit", 1 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()
    local f = assert(io.open(out_file, "rb"))
    assert.equal("", f:read("*a"))
    f:close()
    os.remove(out_file)

    -- exec with no container picks one and opens a shell on a tty, as exec -it would
    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "exec" })
    t:expect("pick a container")
    t:send("pickalpha")
    core.sleep(0.2)
    t:send("\r")
    t:expect("# ")
    t:send("tty; echo $((6*7)) $HOSTNAME\r")
    t:expect("/dev/pts/%d+")
    t:expect("42 " .. a:sub(1, 12))
    t:send("exit 3\r")
    assert.same({ "exit", 3 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()
  end)

  it("gives the screen and the terminal back while the picker is stopped #tstp", function()
    local gamma = helpers.container(c, { Cmd = { "sleep", "300" } }, { name = "dockerpty-spec-pick-gamma" })
    assert(c:start(gamma))
    -- under a shell with job control, as a user's picker is: it can stop and be brought back
    local t = helpers.pty_run({ "bash", "-c",
      'set -m; "$LUA" bin/dockerpty pick; for i in 1 2; do echo "STOPPED:$?"; read -r _; fg >/dev/null; done; '
      .. 'echo "DONE:$?"' },
      { env = { LUA = helpers.lua } })
    local before = t:settings()
    t:expect("pick a container")
    local p = assert(io.popen("pgrep -P " .. t.p:pid()))
    local pid = assert(p:read("n"))
    p:close()
    assert(helpers.execute("kill -TSTP " .. pid))
    t:expect("\27%[%?1049l")
    t:expect("STOPPED:148")
    assert.equal(before, t:settings())
    t:send("\n") -- the shell's fg
    t:expect("pick a container")
    assert.are_not.equal(before, t:settings())
    -- stopped by SIGSTOP, which nothing catches: the resume takes the terminal, and the
    -- screen it never left is not entered twice
    assert(helpers.execute("kill -STOP " .. pid))
    t:expect("STOPPED:147")
    assert(helpers.execute("stty -F /proc/" .. pid .. "/fd/0 sane")) -- as a shell would
    local from = #t.out
    t:send("\n")
    t:expect("pick a container")
    assert.is_nil(t.out:find("\27[?1049h", from + 1, true))
    assert.are_not.equal(before, t:settings())
    t:send("pickgamma")
    core.sleep(0.2)
    t:send("\r")
    t:expect(gamma) -- (the terminal's settings now are the shell's: bash puts back its own)
    t:expect("DONE:0")
    assert.same({ "exit", 0 }, { t:wait() })
    t:close()
  end)
end)

describe("dockerpty ps #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("prints docker's columns, -q ids, and filters", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "sleep 300; echo a long command line" } },
      { name = "dockerpty-spec-ps" })
    local out, err, status = dp { "ps", "-a", "--filter", "name=dockerpty-spec-ps" }
    assert.equal(0, status, err)
    local header, row = out:match("^([^\n]*)\n([^\n]*)\n$")
    assert.matches("^" .. id:sub(1, 12) .. "   busybox   \"sh %-c 'sleep 300; e…\"   .- ago%s+Created%s+dockerpty%-spec%-ps$", row)
    -- as docker's, the CREATED column is as wide as its widest entry ("Less than a second ago")
    local created = row:match("…\"   (.- ago)")
    assert.equal("CONTAINER ID   IMAGE     COMMAND                  "
      .. ("%-" .. math.max(#"CREATED", #created) + 3 .. "s"):format("CREATED")
      .. "STATUS    PORTS     NAMES", header)
    out = dp { "ps", "-q", "-a", "-f", "name=dockerpty-spec-ps" }
    assert.equal(id:sub(1, 12) .. "\n", out)
    out = dp { "ps", "-q", "-f", "name=dockerpty-spec-ps" }
    assert.equal("", out)
    -- a command's control characters are written as docker writes them (Go's strconv.Quote)
    helpers.container(c, { Cmd = { "printf", 'a\tb"\n\27[6n' } }, { name = "dockerpty-spec-ps-quoted" })
    out = dp { "ps", "-a", "--filter", "name=dockerpty-spec-ps-quoted" }
    assert.matches('   "printf a\\tb\\"\\n\\x1b%[6n"   ', out, 1, false)
  end)

  it("describes every command with --help", function()
    local out, _, status = dp { "--help" }
    assert.equal(0, status)
    for _, cmd in ipairs { "run", "attach", "exec", "ps", "pick" } do
      assert.matches("\n  " .. cmd .. " ", out)
      local text, _, st = dp { cmd, "--help" }
      assert.equal(0, st)
      assert.matches("^Usage:  dockerpty " .. cmd, text)
    end
    out = dp { "run", "--help" }
    for _, flag in ipairs { "-i, --interactive", "-t, --tty", "--rm", "--name", "-e, --env", "-w, --workdir",
      "-u, --user", "--entrypoint", "--detach-keys", "-l, --label", "-h, --hostname", "--network", "--sig-proxy" } do
      assert.truthy(out:find(flag, 1, true), flag)
    end
  end)
end)
