-- The dockerpty command against the real engine, in a pseudo-terminal where it matters.
local helpers = require "helpers"
local core = require "dockerpty.core"

local SIGTERM, SIGUSR1, SIGUSR2 = 15, 10, 12

local function dp(args, opts) return helpers.dockerpty(args, opts) end

-- The containers' names carry the run's id, so that runs sharing an engine (or one cut short)
-- never collide on a name; pattern() is a name as a Lua pattern that matches only itself.
local function named(base) return "dockerpty-spec-" .. base .. "-" .. helpers.run_id end
local function pattern(s) return (s:gsub("%p", "%%%0")) end
local NAMED, IT, DETACH = named("named"), named("it"), named("detach")
local TARGET, STOPPED = named("target"), named("stopped")
local ALPHA, BETA, GAMMA, ODD = named("pick-alpha"), named("pick-beta"), named("pick-gamma"), named("pick-odd")
local PS, PS_QUOTED = named("ps"), named("ps-quoted")

describe("cli.run_request", function()
  local cli = require "dockerpty.cli"
  local function getenv(k) return ({ FROM_HERE = "here" })[k] end

  it("gives the create body run would send, and the flags by long name", function()
    local req = assert(cli.run_request({ "-it", "--rm", "--name", "web", "-e", "A=1", "-e", "FROM_HERE", "-e", "UNSET",
      "-w", "/tmp", "-u", "7", "-l", "app=demo", "-l", "bare", "-h", "hh", "--network", "none",
      "--entrypoint", "env", "--detach-keys", "ctrl-x,x", "busybox", "sh", "-c", "echo -n x" }, getenv))
    assert.equal("busybox", req.image)
    assert.equal("web", req.name)
    assert.same({ "sh", "-c", "echo -n x" }, req.cmd)
    assert.same({
      Image = "busybox", Cmd = { "sh", "-c", "echo -n x" }, Entrypoint = { "env" },
      Env = { "A=1", "FROM_HERE=here", "UNSET" }, WorkingDir = "/tmp", User = "7", Hostname = "hh",
      Labels = { app = "demo", bare = "" }, Tty = true, OpenStdin = true, StdinOnce = true, AttachStdin = true,
      AttachStdout = true, AttachStderr = true, HostConfig = { AutoRemove = true, NetworkMode = "none" },
    }, req.body)
    assert.is_true(req.opts.rm)
    assert.is_true(req.opts.tty)
    assert.is_true(req.opts.interactive)
    assert.is_true(req.opts["sig-proxy"])
    assert.equal("ctrl-x,x", req.opts["detach-keys"])
    assert.is_nil(req.opts.detach)
  end)

  it("attaches nothing when detached, and leaves out what was not asked for", function()
    local req = assert(cli.run_request({ "-d", "-i", "busybox" }))
    assert.is_nil(req.cmd)
    assert.is_nil(req.name)
    assert.same({ Image = "busybox", Tty = false, OpenStdin = true, StdinOnce = false, AttachStdin = false,
      AttachStdout = false, AttachStderr = false, HostConfig = { AutoRemove = false } }, req.body)
    assert.is_true(req.opts.detach)
    -- flags after the image belong to the command, as in docker run
    req = assert(cli.run_request { "busybox", "ls", "--rm", "-e" })
    assert.same({ "ls", "--rm", "-e" }, req.cmd)
    assert.is_nil(req.opts.rm)
  end)

  it("returns the command's one-line message for each mistake, never raising", function()
    for _, case in ipairs {
      { { "--bogus", "busybox" }, "unknown flag: --bogus", 125 },
      { { "-Z", "busybox" }, "unknown shorthand flag: 'Z' in -Z", 125 },
      { { "-e", "=x", "busybox" }, "invalid environment variable: =x", 125 },
      { { "--env=", "busybox" }, "invalid environment variable: ", 125 },
      { {}, '"run" requires at least 1 argument.', 1 },
      { { "--rm" }, '"run" requires at least 1 argument.', 1 },
      { { "--name" }, "flag needs an argument: --name", 125 },
      { { "--sig-proxy=maybe", "busybox" }, 'invalid argument "maybe" for "--sig-proxy" flag: expected true or false', 125 },
      { { "--detach-keys", "ctrl-", "busybox" }, '--detach-keys: invalid key spec "ctrl-": unknown key "ctrl-"', 125 },
      { { "-d", "--record", "x.cast", "busybox" }, "--record records a session, and -d opens none", 125 },
    } do
      local req, msg, status = cli.run_request(case[1], getenv)
      assert.is_nil(req)
      assert.equal(case[2], msg)
      assert.equal(case[3], status)
    end
    assert.same({ help = true, ["sig-proxy"] = true }, assert(cli.run_request { "--help" }).opts)
  end)
end)

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
    local out, err, status = dp { "run", "-d", "--name", NAMED, "-l", helpers.label,
      "-l", "tier=test", "busybox", "sleep", "300" }
    assert.equal(0, status, err)
    local id = out:match("^(%x+)\n$")
    assert.equal(64, #id)
    local info = assert(c:inspect_container(NAMED))
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
    -- never pulled: the test engine must not reach out for it
    _, err, status = dp { "run", "--rm", "--pull=never", "dockerpty-no-such-image" }
    assert.equal(125, status)
    assert.equal("dockerpty: No such image: dockerpty-no-such-image:latest\n", err)
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
      IT, "busybox", "sh" }, { rows = 27, cols = 77 })
    t:expect("# ")
    t:send("stty size\r")
    assert.equal("27 77", t:expect("(%d+ %d+)"))
    t:send("exit 5\r")
    assert.same({ "exit", 5 }, { t:wait() })
    t:close()
    core.sleep(0.3)
    local gone, _, code = c:inspect_container(IT)
    assert.is_nil(gone)
    assert.equal(404, code)
  end)

  it("leaves a --rm container running when the user detaches", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "run", "-it", "--rm", "--name",
      DETACH, "-l", helpers.label, "busybox", "sh" })
    local before = t:settings()
    t:expect("# ")
    t:send("\16\17")
    assert.same({ "exit", 0 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()
    local info = assert(c:inspect_container(DETACH))
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
    id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true }, { name = TARGET })
    assert(c:start(id))
  end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("execs by name, full id and unique id prefix, with flags and exit codes", function()
    for _, ref in ipairs { TARGET, id } do
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
    local stopped = helpers.container(c, { Cmd = { "true" } }, { name = STOPPED })
    _, err, status = dp { "attach", stopped }
    assert.equal(1, status)
    assert.equal("dockerpty: You cannot attach to a stopped container, start it first\n", err)
    _, err, status = dp { "attach", "/" .. STOPPED } -- a name as the engine lists it
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

  it("refuses an empty container name with docker's words and status", function()
    for _, cmd in ipairs { { "attach", "" }, { "exec", "", "sh" }, { "exec", "-i", "", "true" } } do
      local out, err, status = dp(cmd)
      assert.equal("", out)
      assert.equal("dockerpty: invalid container name or ID: value is empty\n", err)
      assert.equal(1, status)
    end
    local none, err, code = require("dockerpty").resolve(c, "")
    assert.same({ nil, "invalid container name or ID: value is empty", 400 }, { none, err, code })
  end)

  it("names a bad flag and a bad detach-key spec", function()
    local _, err, status = dp { "exec", "--nope", "x", "sh" }
    assert.equal(125, status)
    assert.equal("dockerpty: unknown flag: --nope\nSee 'dockerpty exec --help'.\n", err)
    _, err, status = dp { "attach", "--detach-keys", "ctrl-p,ctrl-qq", TARGET }
    assert.equal(125, status)
    assert.equal('dockerpty: --detach-keys: invalid key spec "ctrl-p,ctrl-qq": unknown key "ctrl-qq"\n', err)
    _, err, status = dp { "frobnicate" }
    assert.equal(125, status)
    assert.matches("'frobnicate' is not a dockerpty command", err)
  end)

  it("attaches to a running shell, and detaching leaves it running", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "attach", TARGET })
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
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "exec", "-it", TARGET, "sh" },
      { rows = 31, cols = 97 })
    t:expect("# ")
    t:send("stty size\r")
    assert.equal("31 97", t:expect("(%d+ %d+)"))
    t:send("exit 9\r")
    assert.same({ "exit", 9 }, { t:wait() })
    t:close()
    local _, err, status = dp { "exec", "-it", TARGET, "sh" }
    assert.equal(1, status)
    assert.equal("dockerpty: the input device is not a TTY\n", err)
  end)

  it("picks a container with typed keys, and attach without a name opens the picker", function()
    local a = helpers.container(c, { Cmd = { "sleep", "300" } }, { name = ALPHA })
    local b = helpers.container(c, { Cmd = { "sleep", "300" } }, { name = BETA })
    assert(c:start(a))
    assert(c:start(b))
    -- typed and entered in one write, as a paste: the pick is of the list as typed, for
    -- each of the two (one of them is not first in the list before any typing)
    local t, before
    for _, case in ipairs({ { "pickbeta\r", b }, { "pickalpha\r", a } }) do
      t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "pick" })
      before = t:settings()
      t:expect("pick a container")
      t:expect("dockerpty%-spec%-pick%-beta")
      t:send(case[1])
      t:expect(case[2])
      assert.same({ "exit", 0 }, { t:wait() })
      assert.equal(before, t:settings())
      t:close()
    end

    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "pick" })
    t:expect("dockerpty%-spec%-pick%-alpha")
    t:send("spec-pick")
    t:expect("> spec%-pick")
    local second = t:expect("\n  (dockerpty%-spec%-pick%-%a+)") -- the row below the chosen one
    t:send("\27[B") -- down
    core.sleep(0.2)
    t:send("\r")
    t:expect(second .. "-" .. helpers.run_id == ALPHA and a or b)
    t:wait()
    t:close()

    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "pick" })
    t:expect("pick a container")
    t:send("\27")
    assert.same({ "exit", 1 }, { t:wait() })
    t:expect("\27%[%?1049l[^\n]*dockerpty: cancelled: no container picked\r?\n") -- said once the screen is back
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
      { name = ODD })
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
    local gamma = helpers.container(c, { Cmd = { "sleep", "300" } }, { name = GAMMA })
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

describe("dockerpty --record #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  -- The recording's header and its output events, joined.
  local function cast(path)
    local json = require("dockerpty").json
    local lines = {}
    for l in helpers.read_file(path):gmatch("[^\n]+") do lines[#lines + 1] = json.decode(l) end
    local out = {}
    for i = 2, #lines do if lines[i][2] == "o" then out[#out + 1] = lines[i][3] end end
    return lines[1], table.concat(out)
  end

  it("records run, attach, exec and start -a sessions as asciicast v2", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir " .. dir))
    finally(function() os.execute("rm -rf " .. dir) end)
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "run", "-it", "--rm", "-l", helpers.label,
      "--record", dir .. "/run.cast", "busybox", "sh" }, { rows = 19, cols = 63 })
    t:expect("# ")
    t:send("echo run-$((2*21))\r")
    t:expect("run%-42")
    t:send("exit 2\r")
    assert.same({ "exit", 2 }, { t:wait() })
    t:close()
    local head, out = cast(dir .. "/run.cast")
    assert.equal(2, head.version)
    assert.same({ 63, 19 }, { head.width, head.height })
    assert.matches("run%-42", out)
    -- without a tty, the output as a terminal shows it
    local _, err, status = dp { "run", "--rm", "-l", helpers.label, "--record", dir .. "/plain.cast", "busybox",
      "sh", "-c", "echo plain-out; echo plain-err >&2" }
    assert.equal(0, status, err)
    assert.equal("plain-out\r\nplain-err\r\n", select(2, cast(dir .. "/plain.cast")):gsub("plain%-err\r\nplain%-out\r\n", "plain-out\r\nplain-err\r\n"))
    local id = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true })
    assert(c:start(id))
    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "attach", "--record", dir .. "/attach.cast", id })
    t:send("\r")
    t:expect("# ")
    t:send("echo attached-$((3*3))\r")
    t:expect("attached%-9")
    t:send("\16\17")
    assert.same({ "exit", 1 }, { t:wait() })
    t:close()
    assert.matches("attached%-9", select(2, cast(dir .. "/attach.cast")))
    local out_text
    out_text, err, status = dp { "exec", "--record", dir .. "/exec.cast", id, "echo", "from-exec" }
    assert.same({ "from-exec\n", "", 0 }, { out_text, err, status })
    assert.equal("from-exec\r\n", select(2, cast(dir .. "/exec.cast")))
    local job = helpers.container(c, { Cmd = { "echo", "from-start" } })
    out_text, err, status = dp { "start", "-a", "--record", dir .. "/start.cast", job }
    assert.same({ "from-start\n", "", 0 }, { out_text, err, status })
    assert.equal("from-start\r\n", select(2, cast(dir .. "/start.cast")))
    -- a file that cannot be written is one line, and no container is made for it
    local before = #helpers.ours(c)
    out_text, err, status = dp { "run", "--rm", "-l", helpers.label, "--record", dir .. "/no/such/dir.cast", "busybox", "true" }
    assert.same({ "", ("dockerpty: cannot record to %s/no/such/dir.cast: No such file or directory\n"):format(dir), 125 },
      { out_text, err, status })
    assert.equal(before, #helpers.ours(c))
    _, err, status = dp { "exec", "--record", dir .. "/no/such/dir.cast", id, "true" }
    assert.same({ ("dockerpty: cannot record to %s/no/such/dir.cast: No such file or directory\n"):format(dir), 125 },
      { err, status })
  end)
end)

describe("dockerpty statuses and messages as docker's #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("prints the help and exits 0 when given nothing", function()
    local out, err, status = dp {}
    assert.equal("", err)
    assert.equal(0, status)
    assert.matches("^Usage:  dockerpty %[OPTIONS%] COMMAND\n", out)
  end)

  it("exec in a stopped container ends with 1 and the engine's words", function()
    local id = helpers.container(c, { Cmd = { "true" } })
    local out, err, status = dp { "exec", id, "true" }
    assert.same({ "", ("dockerpty: Container %s is not running\n"):format(id), 1 }, { out, err, status })
  end)

  it("names the CA file TLS lacks, as docker does, rather than an OpenSSL line", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir " .. dir))
    local out, err, status = dp({ "ps" }, { env = { DOCKER_TLS_VERIFY = "1", DOCKER_HOST = helpers.tls_host,
      DOCKER_CONFIG = dir, DOCKER_CERT_PATH = "" } })
    assert.same({ "", ("dockerpty: open %s/ca.pem: no such file or directory\n"):format(dir), 125 }, { out, err, status })
    out, err, status = dp({ "ps" }, { env = { DOCKER_TLS_VERIFY = "1", DOCKER_HOST = helpers.tls_host,
      DOCKER_CERT_PATH = dir .. "/certs" } })
    assert.same({ "", ("dockerpty: open %s/certs/ca.pem: no such file or directory\n"):format(dir), 125 }, { out, err, status })
    os.remove(dir)
  end)

  it("warns about a broken config.json once, in one line, from every command", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir " .. dir))
    local f = assert(io.open(dir .. "/config.json", "w"))
    f:write('{"detachKeys": "ctrl-x,x", oops')
    f:close()
    local warning = "^WARNING: ignoring " .. dir:gsub("%p", "%%%0") .. "/config%.json: [^\n]+\n"
    local id = helpers.container(c, { Cmd = { "true" } })
    for _, cmd in ipairs {
      { "ps", "-q", "-f", "name=dockerpty-no-such-container" },
      { "run", "--rm", "-l", helpers.label, "busybox", "true" },
      { "logs", id }, { "start", id }, { "stop", id }, { "pick", id }, { "exec", id, "true" },
      { "attach", id }, { "kill", id }, { "restart", "-t", "0", id }, { "--version" },
    } do
      local _, err = dp(cmd, { env = { DOCKER_CONFIG = dir } })
      assert.matches(warning, err)
      assert.equal(1, select(2, err:gsub("WARNING", "")), table.concat(cmd, " "))
    end
    os.execute("rm -rf " .. dir)
  end)

  it("pick with no terminal prints the only match, and says why when there is none or several", function()
    local names, ids = {}, {}
    for i = 1, 2 do
      names[i] = ("dockerpty-spec-only%d-%s"):format(i, helpers.run_id)
      ids[i] = helpers.container(c, { Cmd = { "sleep", "300" } }, { name = names[i] })
      assert(c:start(ids[i]))
    end
    local out, err, status = dp { "pick", "only1-" .. helpers.run_id }
    assert.same({ ids[1] .. "\n", "", 0 }, { out, err, status })
    out, err, status = dp { "pick", names[2] } -- a name is its own match, however many it fuzzes
    assert.same({ ids[2] .. "\n", "", 0 }, { out, err, status })
    out, err, status = dp { "pick", "spec-only-" .. helpers.run_id }
    assert.equal("", out)
    assert.equal(1, status)
    assert.matches('^dockerpty: "spec%-only%-' .. helpers.run_id .. '" matches 2 containers: [^\n]*\n$', err)
    for i = 1, 2 do assert.truthy(err:find(ids[i]:sub(1, 12) .. " (" .. names[i] .. ")", 1, true)) end
    out, err, status = dp { "pick", "zzqqzzqq-nothing" }
    assert.same({ "", 'dockerpty: no running container matches "zzqqzzqq-nothing"\n', 1 }, { out, err, status })
    out, err, status = dp { "pick" }
    assert.same({ "", 'dockerpty: "pick" needs a terminal on stdin, or a QUERY that matches one container\n'
      .. "See 'dockerpty pick --help'.\n", 1 }, { out, err, status })
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
      { name = PS })
    local out, err, status = dp { "ps", "-a", "--filter", "name=" .. PS }
    assert.equal(0, status, err)
    local header, row = out:match("^([^\n]*)\n([^\n]*)\n$")
    assert.matches("^" .. id:sub(1, 12) .. "   busybox   \"sh %-c 'sleep 300; e…\"   .- ago%s+Created%s+" .. pattern(PS) .. "$", row)
    -- as docker's, the CREATED column is as wide as its widest entry ("Less than a second ago")
    local created = row:match("…\"   (.- ago)")
    assert.equal("CONTAINER ID   IMAGE     COMMAND                  "
      .. ("%-" .. math.max(#"CREATED", #created) + 3 .. "s"):format("CREATED")
      .. "STATUS    PORTS     NAMES", header)
    out = dp { "ps", "-q", "-a", "-f", "name=" .. PS }
    assert.equal(id:sub(1, 12) .. "\n", out)
    out = dp { "ps", "-q", "-f", "name=" .. PS }
    assert.equal("", out)
    -- a command's control characters are written as docker writes them (Go's strconv.Quote)
    helpers.container(c, { Cmd = { "printf", 'a\tb"\n\27[6n' } }, { name = PS_QUOTED })
    out = dp { "ps", "-a", "--filter", "name=" .. PS_QUOTED }
    assert.matches('   "printf a\\tb\\"\\n\\x1b%[6n"   ', out, 1, false)
  end)

  it("--format takes docker's template fields, table and json; --no-trunc, -n and -l", function()
    local key = "dockerpty.spec.ps." .. helpers.run_id
    local ids, names = {}, {}
    for i = 1, 3 do
      names[i] = ("dockerpty-spec-fmt%d-%s"):format(i, helpers.run_id)
      ids[i] = helpers.container(c, { Cmd = { "sh", "-c", "echo a rather long command " .. i },
        Labels = { [key] = "v" .. i, tier = "t\27x" } }, { name = names[i] })
      core.sleep(1.1) -- created a second apart, so that the engine's order is theirs
    end
    local only = "label=" .. key
    local out, err, status = dp { "ps", "-a", "-f", only, "--format", '{{.Names}} {{.ID}} {{.State}} {{.Label "' .. key .. '"}} {{upper .State}}' }
    assert.equal(0, status, err)
    assert.equal(("%s %s created v3 CREATED\n%s %s created v2 CREATED\n%s %s created v1 CREATED\n")
      :format(names[3], ids[3]:sub(1, 12), names[2], ids[2]:sub(1, 12), names[1], ids[1]:sub(1, 12)), out)
    -- a label's control character is shown, not obeyed; the command as docker quotes it
    out = dp { "ps", "-a", "-l", "-f", only, "--format", "{{.Label \"tier\"}}|{{.Command}}|{{.Labels}}" }
    assert.equal('t\\x1bx|"sh -c \'echo a rathe…"|' .. helpers.label .. "=1," .. key .. "=v3,tier=t\\x1bx\n", out)
    out = dp { "ps", "-a", "-l", "--no-trunc", "-f", only, "--format", "{{.ID}} {{.Command}}" }
    assert.equal(ids[3] .. ' "sh -c \'echo a rather long command 3\'"\n', out)
    out = dp { "ps", "-n", "2", "-q", "-f", only }
    assert.equal(ids[3]:sub(1, 12) .. "\n" .. ids[2]:sub(1, 12) .. "\n", out)
    out = dp { "ps", "--last=1", "-q", "--no-trunc", "-f", only }
    assert.equal(ids[3] .. "\n", out)
    -- table: the header from the fields, columns as docker's tabwriter pads them
    out = dp { "ps", "-a", "-n", "1", "-f", only, "--format", "table {{.Names}}\\t{{.State}}\\t{{.RunningFor}}" }
    local want_name = math.max(#names[3], #"NAMES") + 3
    assert.matches("^" .. ("%-" .. want_name .. "s"):format("NAMES"):gsub("%p", "%%%0") .. "STATE     CREATED\n"
      .. names[3]:gsub("%p", "%%%0") .. "%s+created   [^\n]* ago\n$", out)
    -- json: one object a line, every field as text
    out = dp { "ps", "-a", "-l", "-f", only, "--format", "json" }
    local doc = require("dockerpty").json.decode(out)
    assert.equal(ids[3]:sub(1, 12), doc.ID)
    assert.equal(names[3], doc.Names)
    assert.equal("created", doc.State)
    assert.equal("busybox", doc.Image)
    assert.matches(" ago$", doc.RunningFor)
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d ", doc.CreatedAt)
    out = dp { "ps", "-a", "-l", "-f", only, "--format", "{{json .}}" }
    local again = require("dockerpty").json.decode(out)
    -- a second later, "1 second ago" may have become "2 seconds ago"
    assert.matches(" ago$", again.RunningFor)
    doc.RunningFor, again.RunningFor = nil, nil
    assert.same(doc, again)
    -- a template it cannot use is one line, and status 1, as docker's
    for _, case in ipairs {
      { "{{.Bogus}}", "no field Bogus in a container" },
      { "{{.Names", "unclosed action" },
      { "{{printf .Names}}", 'function "printf" is not one dockerpty knows' },
      { "{{.Label}}", '.Label takes a key in quotes, as {{.Label "app"}}' },
      { "{{.Names | upper}}", "cannot read the action {{.Names | upper}}" },
    } do
      out, err, status = dp { "ps", "--format", case[1] }
      assert.equal("", out)
      assert.equal(1, status)
      assert.matches("^dockerpty: invalid %-%-format \"" .. case[1]:gsub("%p", "%%%0") .. "\": [^\n]*"
        .. case[2]:gsub("%p", "%%%0") .. "[^\n]*\n$", err)
    end
    out, err, status = dp { "ps", "-n", "x" }
    assert.equal("", out)
    assert.equal('dockerpty: invalid argument "x" for "-n" flag: expected a whole number\nSee \'dockerpty ps --help\'.\n', err)
    assert.equal(125, status)
  end)

  it("describes every command with --help", function()
    local out, _, status = dp { "--help" }
    assert.equal(0, status)
    for _, cmd in ipairs { "run", "attach", "exec", "start", "stop", "restart", "kill", "logs", "ps", "pick" } do
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

-- Bytes a terminal would obey: C0 but tab and new line, DEL, and C1 as UTF-8 carries it.
local function obeyed(s)
  return s:find("[%z\1-\8\11-\31\127]") or s:find("\194[\128-\159]")
end

describe("dockerpty's engine strings #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("reach the terminal escaped in an error, a container's own command included", function()
    local out, err, status = dp { "run", "--rm", "-l", helpers.label, "busybox", "/nope\27]0;PWN\7" }
    assert.equal("", out)
    assert.equal(127, status)
    assert.is_nil(obeyed(err), err)
    assert.matches("/nope\\x1b]0;PWN\\a", err, 1, true)
    assert.matches("^dockerpty: [^\n]*\n$", err)
  end)

  it("reach the terminal escaped in ps's json, as JSON escapes them", function()
    local weird = "a\27]0;PWN\7b\127c\194\155" .. "6n"
    local id = helpers.container(c, { Cmd = { "true" }, Labels = { tier = weird } })
    local only = "label=" .. helpers.label
    for _, format in ipairs { "json", "{{json .Labels}}", '{{json .Label "tier"}}', "{{json .}}" } do
      local out, err, status = dp { "ps", "-a", "-f", only, "--format", format }
      assert.equal(0, status, err)
      assert.is_nil(obeyed(out), out)
      local doc = assert(require("dockerpty").json.decode(out))
      if format == '{{json .Label "tier"}}' then
        assert.equal(weird, doc)
      elseif format == "{{json .Labels}}" then
        assert.truthy(doc:find("tier=" .. weird, 1, true))
      else
        assert.equal(id:sub(1, 12), doc.ID)
        assert.truthy(doc.Labels:find("tier=" .. weird, 1, true))
      end
    end
    local out = dp { "ps", "-a", "-f", only, "--format", "table {{.Labels}}" }
    assert.is_nil(obeyed(out), out)
  end)
end)

describe("ps.format", function()
  local ps = require "dockerpty.cli.ps"

  it("writes every field of a hostile engine's summary escaped, whatever its type", function()
    local esc = "\27]0;PWN\7"
    local summary = {
      Id = "abc" .. esc .. "0123456789", Names = { "/web" .. esc, 5 }, Image = "busybox" .. esc,
      Command = "sh" .. esc, Created = "yesterday", Status = "Up" .. esc, State = { "odd" },
      Ports = { { IP = "1.2.3.4" .. esc, PublicPort = "80" .. esc, PrivatePort = 8080, Type = "tcp" .. esc },
        { PrivatePort = {}, Type = 7 }, "22/tcp" .. esc },
      Labels = { ["k" .. esc] = "v" .. esc }, Mounts = { { Source = "/src" .. esc }, "m" },
    }
    for _, format in ipairs { "table", "json", "{{json .}}", "{{.ID}} {{.Names}} {{.Ports}} {{.Status}} {{.Mounts}}" } do
      local out = ps.format({ summary }, format, { now = 1000 })
      assert.is_nil(obeyed(out), out)
      assert.truthy(out:find("PWN", 1, true))
    end
    local row = ps.format({ summary }, "{{.Ports}}", { now = 1000 })
    local shown = "\\x1b]0;PWN\\a"
    assert.equal(("1.2.3.4%s:80%s->8080/tcp%s, /7, 22/tcp%s\n"):format(shown, shown, shown, shown), row)
  end)
end)

describe("dockerpty start, stop, restart, kill and logs #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  local function state(ref) return assert(c:inspect_container(ref)).State end

  it("stop, restart, kill and start echo each container, and say each failure with status 1", function()
    local name = "dockerpty-spec-life-" .. helpers.run_id
    local id = helpers.container(c, { Cmd = { "sleep", "300" } }, { name = name })
    local out, err, status = dp { "start", name }
    assert.same({ name .. "\n", "", 0 }, { out, err, status })
    assert.is_true(state(id).Running)
    local started = state(id).StartedAt
    out, err, status = dp { "restart", "-t", "0", name }
    assert.same({ name .. "\n", "", 0 }, { out, err, status })
    assert.is_true(state(id).Running)
    assert.are_not.equal(started, state(id).StartedAt)
    out, err, status = dp { "kill", "-s", "SIGUSR1", name } -- sleep as PID 1 takes no default action
    assert.same({ name .. "\n", "", 0 }, { out, err, status })
    assert.is_true(state(id).Running)
    out, err, status = dp { "stop", "--time=1", id:sub(1, 12), "dockerpty-no-such-container", "" }
    assert.equal(id:sub(1, 12) .. "\n", out)
    assert.equal("dockerpty: No such container: dockerpty-no-such-container\n"
      .. "dockerpty: invalid container name or ID: value is empty\n", err)
    assert.equal(1, status)
    assert.is_false(state(id).Running)
    assert.equal(137, state(id).ExitCode) -- SIGTERM ignored by PID 1, so killed after 1 s
    out, err, status = dp { "kill", name }
    assert.equal("", out)
    assert.matches("^dockerpty: Cannot kill container: " .. name:gsub("%p", "%%%0") .. ": [^\n]*is not running\n$", err)
    assert.equal(1, status)
    out, err, status = dp { "kill", "-s", "NOSUCHSIGNAL", id }
    assert.matches("^dockerpty: [^\n]*[Ss]ignal[^\n]*\n$", err)
    assert.same({ "", 1 }, { out, status })
    out, err, status = dp { "stop", "-t", "soon", id }
    assert.equal('dockerpty: invalid argument "soon" for "-t" flag: expected a whole number\n'
      .. "See 'dockerpty stop --help'.\n", err)
    assert.equal(125, status)
    for _, cmd in ipairs { "start", "stop", "restart", "kill", "logs" } do
      out, err, status = dp { cmd }
      assert.equal(('dockerpty: "%s" requires at least 1 argument.\nSee \'dockerpty %s --help\'.\n'):format(cmd, cmd), err)
      assert.equal(1, status)
    end
    assert.equal("", out)
  end)

  it("start -a attaches before it starts and ends with the container's status; -ai on a terminal", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "echo first-line; echo to-stderr >&2; exit 3" } })
    local out, err, status = dp { "start", "-a", id }
    assert.same({ "first-line\n", "to-stderr\n", 3 }, { out, err, status })
    out, err, status = dp { "start", "-a", id, id }
    assert.same({ "", "dockerpty: you cannot start and attach multiple containers at once\n", 1 }, { out, err, status })
    local tty = helpers.container(c, { Cmd = { "sh" }, Tty = true, OpenStdin = true, StdinOnce = true })
    out, err, status = dp { "start", "-ai", tty }
    assert.same({ "", "dockerpty: the input device is not a TTY\n", 1 }, { out, err, status })
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "start", "-ai", tty }, { rows = 21, cols = 71 })
    t:expect("# ")
    t:send("stty size; exit 4\r")
    t:expect("21 71")
    assert.same({ "exit", 4 }, { t:wait() })
    t:close()
    -- a detach from start -a is no error, as docker's
    t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "start", "-ai", tty })
    t:expect("# ")
    t:send("\16\17")
    assert.same({ "exit", 0 }, { t:wait() })
    t:close()
    assert.is_true(state(tty).Running)
  end)

  it("logs prints stdout and stderr apart, with --tail, --since, -t and -f", function()
    local id = helpers.container(c, { Cmd = { "sh", "-c", "echo one; echo two >&2; echo three" } })
    assert(c:start(id))
    assert(c:wait(id))
    local out, err, status = dp { "logs", id }
    assert.same({ "one\nthree\n", "two\n", 0 }, { out, err, status })
    out, err = dp { "logs", "--tail", "1", "-n", "1", id }
    assert.equal(1, select(2, (out .. err):gsub("\n", "")))
    out, err, status = dp { "logs", "--since", "2999-01-01T00:00:00Z", id }
    assert.same({ "", "", 0 }, { out, err, status })
    out = dp { "logs", "--since", "1h", id }
    assert.equal("one\nthree\n", out)
    out = dp { "logs", "-t", id }
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z one\n[^ ]+ three\n$", out)
    out, err, status = dp { "logs", "--since", "yesterday", id }
    assert.equal("", out)
    assert.equal('dockerpty: invalid --since "yesterday": expected a Unix time, a time as 2026-01-02T15:04:05Z '
      .. "or a duration as 42m\n", err)
    assert.equal(1, status)
    out, err, status = dp { "logs", "--tail", "x", id }
    assert.same({ "", 'dockerpty: invalid --tail "x": expected a number of lines or "all"\n', 1 }, { out, err, status })
    out, err, status = dp { "logs", "dockerpty-no-such-container" }
    assert.same({ "", "dockerpty: No such container: dockerpty-no-such-container\n", 1 }, { out, err, status })
    -- -f prints as it comes, and ends when the container does
    local slow = helpers.container(c, { Cmd = { "sh", "-c", "echo early; sleep 4; echo late" } })
    assert(c:start(slow))
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "logs", "-f", slow })
    t:expect("early")
    assert.is_nil(t.out:find("late", 1, true))
    assert.is_true(state(slow).Running) -- printed while the container still ran
    t:expect("late")
    assert.same({ "exit", 0 }, { t:wait() })
    t:close()
  end)
end)

describe("cli.parse_time", function()
  local logs = require "dockerpty.cli.logs"

  it("reads Unix times, durations back from now and RFC 3339 times", function()
    local now = 1800000000
    assert.equal(1700000000, logs.parse_time("1700000000", now))
    assert.equal(1700000000.25, logs.parse_time("1700000000.25", now))
    assert.equal(now - 600, logs.parse_time("10m", now))
    assert.equal(now - 5400.5, logs.parse_time("1h30m0.5s", now))
    assert.equal(0, logs.parse_time("1970-01-01T00:00:00Z", now))
    assert.equal(1767323045, logs.parse_time("2026-01-02T03:04:05Z", now))
    assert.equal(1767323045, logs.parse_time("2026-01-02T04:04:05+01:00", now))
    assert.equal(1767323045, logs.parse_time("2026-01-01T22:04:05-05:00", now))
    assert.equal(1767323045.5, logs.parse_time("2026-01-02T03:04:05.5Z", now))
    assert.equal(951782400, logs.parse_time("2000-02-29T00:00Z", now))
    for _, bad in ipairs { "", "yesterday", "10x", "2026-13-01T00:00:00Z", "2026-01-02T03:04:05+1" } do
      assert.is_nil(logs.parse_time(bad, now), bad)
    end
  end)
end)
