-- A pull whose registry dies half-way: a registry of this spec's own (docker-registry on a
-- free loopback port, its storage in a temporary directory) behind spec/support/throttle.py,
-- which slows its answers so that the download is still under way when the registry is
-- killed with SIGKILL. The command must say so on one line, fail, give the terminal back as
-- it was and leave no container or image behind. The engine tries the layer five times,
-- 5 to 25 s apart, before it gives up, as it does under the docker CLI: the long wait is its own.
local helpers = require "helpers"
local images = require "images"
local core = require "dockerpty.core"

local function sh(cmd)
  return helpers.popen_status(cmd .. " 2>&1")
end

local function free_port()
  local out = assert(sh([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']]))
  return assert(tonumber(out:match("%d+")), out)
end

-- Only a process this spec started, still the program it started, is ever signalled.
local function kill_own(pid, comm, sig)
  local f = pid and io.open("/proc/" .. pid .. "/comm")
  local name = f and f:read("*l")
  if f then f:close() end
  if name == comm then os.execute(("kill -%s %d"):format(sig or "TERM", pid)) end
end

local LAYER = 20000000
local RATE = 2000000 -- bytes a second through the relay: a download of about ten seconds

describe("a pull whose registry is killed half-way #engine #images", function()
  local c, dir, port, repo, registry_pid, relay_pid

  local function start_registry()
    local out = assert(sh(("setsid docker-registry serve %s/config.yml >>%s/registry.log 2>&1 </dev/null & echo $!")
      :format(dir, dir)))
    registry_pid = tonumber(out:match("%d+"))
    for _ = 1, 100 do
      if select(2, sh(("curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:%d/v2/"):format(port))) == 0 then return end
      core.sleep(0.1)
    end
    error("the spec's registry did not answer; its log:\n" .. helpers.read_file(dir .. "/registry.log"))
  end

  -- The relay in front of the running registry; the reference to pull through it.
  local function start_relay()
    local relay_port = free_port()
    local p = assert(io.popen(("python3 spec/support/throttle.py %d %d %d 2>&1 & echo $!"):format(relay_port, port, RATE)))
    relay_pid = tonumber(p:read("*l"))
    assert.equal("ready", p:read("*l"))
    -- p stays open: closing it would wait for the relay
    return ("127.0.0.1:%d/%s:latest"):format(relay_port, repo)
  end

  setup(function()
    c = helpers.engine()
    dir = assert(sh("mktemp -d")):match("%S+")
    port = free_port()
    local f = assert(io.open(dir .. "/config.yml", "w"))
    f:write(("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/data\n"
      .. "http:\n  addr: 127.0.0.1:%d\n  secret: dockerpty-spec-kill\n"):format(dir, port))
    f:close()
    start_registry()
    -- an image of busybox and a new layer, pushed from the engine, its local copy removed
    repo = images.prefix .. "/killed"
    local build = "dockerpty-spec-killed-" .. helpers.run_id:lower() .. ":build"
    local pushed = ("127.0.0.1:%d/%s:latest"):format(port, repo)
    f = assert(io.open(dir .. "/Dockerfile", "w"))
    f:write(("FROM busybox\nRUN head -c %d /dev/urandom > /blob\n"):format(LAYER))
    f:close()
    local out, status = sh(("DOCKER_BUILDKIT=0 docker build -q --no-cache -t %s -f %s/Dockerfile %s && docker tag %s %s && docker push %s")
      :format(build, dir, dir, build, pushed, pushed))
    sh(("docker rmi %s %s"):format(build, pushed))
    assert(status == 0, out)
    kill_own(registry_pid, "docker-registry")
  end)

  teardown(function()
    kill_own(registry_pid, "docker-registry")
    kill_own(relay_pid, "python3")
    if c then
      helpers.cleanup(c)
      images.cleanup(c)
    end
    if dir then os.execute("rm -rf " .. helpers.shell_quote(dir)) end
  end)

  before_each(function()
    start_registry()
  end)

  after_each(function()
    kill_own(registry_pid, "docker-registry")
    kill_own(relay_pid, "python3")
  end)

  -- Starts cmd in a pty, kills the registry once a layer is downloading, and returns the
  -- exit, what came after the kill, and the terminal's settings before and after.
  local function interrupted(args)
    local ref = start_relay()
    local cmd = { helpers.lua, "bin/dockerpty" }
    for _, a in ipairs(args) do cmd[#cmd + 1] = a end
    cmd[#cmd + 1] = ref
    if args[1] == "run" then cmd[#cmd + 1] = "sh" end
    local p = helpers.pty_run(cmd, { cols = 120 })
    local before = p:settings()
    p:expect(": Downloading [", 60, true)
    -- still downloading: what has come is not the whole layer
    assert.is_nil(p.out:find("Download complete", 1, true), p.out)
    kill_own(registry_pid, "docker-registry", "KILL")
    local mark = #p.out
    -- the end comes at the engine's first retry, not after its minute of them
    local how, code = p:wait(30)
    local after = p:settings()
    p:close()
    return ref, how, code, p.out:sub(mark + 1), before, after
  end

  -- The lines after the last progress redraw: the error alone, on one line.
  local function last_words(out)
    local tail = out:gsub("\27%[[%d;]*[A-Za-z]", "\n"):gsub("\r", "\n")
    local lines = {}
    for l in tail:gmatch("[^\n]+") do if l:find("%S") then lines[#lines + 1] = l end end
    return lines[#lines], tail
  end

  it("pull says it on one line, exits 1, leaves the terminal and no image", function()
    local ref, how, code, out, before, after = interrupted { "pull" }
    assert.same({ "exit", 1 }, { how, code }, out)
    local last, tail = last_words(out)
    assert.truthy(last and last:match("^dockerpty: the registry stopped answering while layer %x+ was downloading$"), tail)
    assert.equal(1, select(2, tail:gsub("dockerpty: ", "")), tail)
    assert.is_nil(tail:find("traceback", 1, true), tail)
    assert.is_nil(tail:find("Status: Downloaded", 1, true), tail)
    assert.equal(before, after)
    assert.is_nil(c:inspect_image(ref))
    assert.same({}, images.ours(c))
  end)

  it("run -it ends with 125 before any container, the terminal as it was", function()
    local ref, how, code, out, before, after = interrupted { "run", "-it", "--rm", "-l", helpers.label }
    assert.same({ "exit", 125 }, { how, code }, out)
    local last, tail = last_words(out)
    assert.truthy(last and last:match("^dockerpty: %S[^\n]*$"), tail)
    assert.equal(1, select(2, tail:gsub("dockerpty: ", "")), tail)
    assert.is_nil(tail:find("traceback", 1, true), tail)
    assert.equal(before, after)
    assert.same({}, helpers.ours(c))
    assert.is_nil(c:inspect_image(ref))
    assert.same({}, images.ours(c))
  end)
end)
