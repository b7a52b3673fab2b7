-- run's mount, port, limit, capability and restart flags: the create body they make, their
-- mistakes, and what the engine stores and the container sees.
local helpers = require "helpers"
local cli = require "dockerpty.cli"

local function dp(args, opts) return helpers.dockerpty(args, opts) end

local function request(args, getenv)
  local argv = {}
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  argv[#argv + 1] = "busybox"
  return cli.run_request(argv, getenv or function() return nil end)
end

local function body(args, getenv)
  local req, err = request(args, getenv)
  assert(req, err)
  return req.body, req
end

-- Each case: the flags, then the one line run_request returns for them.
local function refuses(cases)
  for _, case in ipairs(cases) do
    local req, msg, status = request(case[1])
    assert.is_nil(req, table.concat(case[1], " "))
    assert.equal(case[2], msg)
    assert.equal(125, status)
    assert.is_nil(msg:find("\n"))
  end
end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -m 755 " .. p))
  return p
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

describe("run's -v and --mount", function()
  it("puts host paths and named volumes in Binds, anonymous volumes in Volumes", function()
    local b = body { "-v", "/srv/data:/data", "-v", "cache:/cache:ro", "-v", "/h:/x:rw,Z,rslave,cached",
      "-v", "/anon", "--volume=/work:/w:ro" }
    assert.same({ "/srv/data:/data", "cache:/cache:ro", "/h:/x:rw,Z,rslave,cached", "/work:/w:ro" }, b.HostConfig.Binds)
    assert.same({ ["/anon"] = {} }, b.Volumes)
    assert.is_nil(body({}).HostConfig.Binds)
  end)

  it("refuses a relative host path, a relative target and modes the engine does not know", function()
    refuses {
      { { "-v", "./here:/data" }, 'create ./here: "./here" includes invalid characters for a local volume name, only '
        .. '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path' },
      { { "-v", "~/x:/data" }, 'create ~/x: "~/x" includes invalid characters for a local volume name, only '
        .. '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path' },
      { { "-v", "/h:data" }, "invalid volume specification: '/h:data': invalid mount config for type \"bind\": "
        .. "invalid mount path: 'data' mount path must be absolute" },
      { { "-v", "data" }, "invalid volume specification: 'data': invalid mount config for type \"volume\": "
        .. "invalid mount path: 'data' mount path must be absolute" },
      { { "-v", "/h:/c:rx" }, "invalid mode: rx" },
      { { "-v", "/h:/c:ro,rw" }, "invalid mode: ro,rw" },
      { { "-v", "/h:/c:ro:z" }, "invalid spec: /h:/c:ro:z: too many colons" },
      { { "-v", "/h::/c" }, "invalid spec: /h::/c: empty section between colons" },
      { { "-v", "/h:" }, "invalid spec: /h:: empty section between colons" },
      { { "-v", "" }, "invalid empty volume spec" },
    }
  end)

  it("reads --mount's csv fields as docker does, quotes included", function()
    local b = body { "--mount", "type=bind,src=/srv,dst=/data,readonly", "--mount", 'type=bind,"source=/a,b",target=/ab,ro=false',
      "--mount", "type=volume,source=cache,destination=/cache,volume-nocopy,volume-label=k=v,volume-driver=local",
      "--mount", "type=tmpfs,target=/scratch,tmpfs-size=2m,tmpfs-mode=1777", "--mount", "target=/anon",
      "--mount", 'Type=BIND,Source=/q,Target=/q,bind-propagation=rshared,"readonly=1"' }
    assert.same({
      { Type = "bind", Source = "/srv", Target = "/data", ReadOnly = true },
      { Type = "bind", Source = "/a,b", Target = "/ab", ReadOnly = false },
      { Type = "volume", Source = "cache", Target = "/cache",
        VolumeOptions = { NoCopy = true, Labels = { k = "v" }, DriverConfig = { Name = "local" } } },
      { Type = "tmpfs", Target = "/scratch", TmpfsOptions = { SizeBytes = 2 * 1024 * 1024, Mode = 1023 } },
      { Type = "volume", Target = "/anon" },
      { Type = "bind", Source = "/q", Target = "/q", ReadOnly = true, BindOptions = { Propagation = "rshared" } },
    }, b.HostConfig.Mounts)
  end)

  it("gives docker's message for each --mount it refuses", function()
    local function flag(v, err) return { { "--mount", v }, ('invalid argument "%s" for "--mount" flag: %s'):format(v, err) } end
    refuses {
      flag("type=bind,src=/a", "target is required"),
      flag("type=,target=/a", "type is required"),
      flag("type=bind,src=/a,target=/b,readonly=maybe", "invalid value for readonly: maybe"),
      flag("type=bind,src=/a,target=/b,rw", "invalid field 'rw' must be a key=value pair"),
      flag("type=bind,src=/a,target=/b,size=1", "unexpected key 'size' in 'size=1'"),
      flag("type=tmpfs,target=/b,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
      flag("type=tmpfs,target=/b,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"),
      flag("type=bind,src=/a,target=/b,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'"),
      flag("type=volume,target=/b,bind-propagation=shared", "cannot mix 'bind-*' options with mount type 'volume'"),
      flag('src="/a",target=/b', 'parse error on line 1, column 5: bare " in non-quoted field'),
      flag('"src=/a', 'parse error on line 1, column 8: extraneous or missing " in quoted-field'),
      flag("", "EOF"),
      { { "--mount", "type=bind,target=/b" }, 'invalid mount config for type "bind": field Source must not be empty' },
      { { "--mount", "type=bind,src=rel,target=/b" },
        "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute" },
      { { "--mount", "type=tmpfs,src=/a,target=/b" }, 'invalid mount config for type "tmpfs": field Source must not be specified' },
      { { "--mount", "type=nfs,target=/b" }, 'invalid mount config for type "nfs": mount type unknown' },
      { { "--mount", "type=volume,target=b" },
        "invalid mount config for type \"volume\": invalid mount path: 'b' mount path must be absolute" },
    }
  end)

  it("takes --tmpfs PATH[:OPTIONS] into HostConfig.Tmpfs", function()
    assert.same({ ["/run"] = "", ["/scratch"] = "size=64k,mode=1777" },
      body({ "--tmpfs", "/run", "--tmpfs", "/scratch:size=64k,mode=1777" }).HostConfig.Tmpfs)
    refuses { { { "--tmpfs", "run" }, "invalid mount config for type \"tmpfs\": invalid mount path: 'run' mount path must be absolute" } }
  end)
end)

describe("run's -p", function()
  it("makes ExposedPorts and PortBindings as docker does", function()
    local b = body { "-p", "80", "-p", "8080:81", "-p", "127.0.0.1:8443:443/tcp", "-p", "127.0.0.1::53/udp",
      "-p", "8000-8002:90-92", "-p", "[::1]:9000:100/sctp", "-p", "9100-9200:101", "-p", "::1:9300:102", "-p", "8081:81",
      "-p", "103/UDP" }
    local p = b.HostConfig.PortBindings
    assert.same({ { HostIp = "", HostPort = "" } }, p["80/tcp"])
    assert.same({ { HostIp = "", HostPort = "8080" }, { HostIp = "", HostPort = "8081" } }, p["81/tcp"])
    assert.same({ { HostIp = "127.0.0.1", HostPort = "8443" } }, p["443/tcp"])
    assert.same({ { HostIp = "127.0.0.1", HostPort = "" } }, p["53/udp"])
    assert.same({ { HostIp = "", HostPort = "8000" } }, p["90/tcp"])
    assert.same({ { HostIp = "", HostPort = "8002" } }, p["92/tcp"])
    assert.same({ { HostIp = "::1", HostPort = "9000" } }, p["100/sctp"])
    -- a host range for one container port: the engine picks a free one in it
    assert.same({ { HostIp = "", HostPort = "9100-9200" } }, p["101/tcp"])
    assert.same({ { HostIp = "::1", HostPort = "9300" } }, p["102/tcp"])
    assert.same({ { HostIp = "", HostPort = "" } }, p["103/udp"])
    local exposed = {}
    for k in pairs(b.ExposedPorts) do exposed[#exposed + 1] = k end
    table.sort(exposed)
    assert.same({ "100/sctp", "101/tcp", "102/tcp", "103/udp", "443/tcp", "53/udp", "80/tcp", "81/tcp", "90/tcp",
      "91/tcp", "92/tcp" }, exposed)
    assert.same({}, b.ExposedPorts["80/tcp"])
  end)

  it("gives docker's message for each port it refuses", function()
    refuses {
      { { "-p", "80-81:90-92" }, "invalid ranges specified for container and host Ports: 90-92 and 80-81" },
      { { "-p", "http" }, "invalid containerPort: http" },
      { { "-p", "65536" }, "invalid containerPort: 65536" },
      { { "-p", "92-90" }, "invalid containerPort: 92-90" },
      { { "-p", "x:80" }, "invalid hostPort: x" },
      { { "-p", "80/icmp" }, "invalid proto: icmp" },
      { { "-p", "1.2.3.256:80:80" }, "invalid IP address: 1.2.3.256" },
      { { "-p", "localhost:80:80" }, "invalid IP address: localhost" },
      { { "-p", "8080:" }, "no port specified: 8080:<empty>" },
      { { "-p", "/tcp" }, "no port specified: /tcp<empty>" },
    }
  end)

  it("reads the long form, name=value pairs, into the same bindings", function()
    local p = body({ "-p", "target=80,published=8080,protocol=udp,host_ip=127.0.0.1,mode=host", "-p", "target=81",
      "--publish=published=8443,target=443,protocol=SCTP", "-p", "host_ip=::1,target=82,published=9082",
      "-p", "target=90-91,published=9090-9091,mode=ingress", "-p", "target=83,app_protocol=http" }).HostConfig.PortBindings
    assert.same({ { HostIp = "127.0.0.1", HostPort = "8080" } }, p["80/udp"])
    assert.same({ { HostIp = "", HostPort = "" } }, p["81/tcp"])
    assert.same({ { HostIp = "", HostPort = "8443" } }, p["443/sctp"])
    assert.same({ { HostIp = "::1", HostPort = "9082" } }, p["82/tcp"])
    assert.same({ { HostIp = "", HostPort = "9090" } }, p["90/tcp"])
    assert.same({ { HostIp = "", HostPort = "9091" } }, p["91/tcp"])
    -- a name docker's run does not know is left aside, as docker leaves it
    assert.same({ { HostIp = "", HostPort = "" } }, p["83/tcp"])
    assert.is_nil(p["80/tcp"])
  end)

  it("gives docker's message for each long form it refuses", function()
    refuses {
      { { "-p", "target=80,,published=1" }, "invalid publish opts format (should be name=value but got '')" },
      { { "-p", "published=1500,target:444" }, "invalid publish opts format (should be name=value but got 'target:444')" },
      { { "-p", "published=8080" }, "no port specified: 8080:/tcp<empty>" },
      { { "-p", "TARGET=80" }, "no port specified: :/tcp<empty>" },
      { { "-p", "target=x" }, "invalid containerPort: x" },
      { { "-p", "target=80,published=70000" }, "invalid hostPort: 70000" },
      { { "-p", "target=80,protocol=icmp" }, "invalid proto: icmp" },
      { { "-p", "target=80;published=1" }, "invalid containerPort: 80;published=1" },
      { { "-p", "target=80,host_ip=localhost" }, "invalid IP address: localhost" },
      { { "-p", "target=80,mode=weird" }, "invalid publish mode value (weird): must be either 'ingress' or 'host'" },
    }
  end)
end)

describe("run's --expose", function()
  local function exposed(args)
    local keys = {}
    for k, v in pairs(body(args).ExposedPorts) do
      assert.same({}, v)
      keys[#keys + 1] = k
    end
    table.sort(keys)
    return keys
  end

  it("adds ports and ranges to ExposedPorts, tcp unless told, beside -p's", function()
    assert.same({ "80/tcp" }, exposed { "--expose", "80" })
    assert.same({ "53/udp", "8000/tcp", "8001/tcp", "8002/tcp", "9000/sctp" },
      exposed { "--expose", "53/udp", "--expose=8000-8002", "--expose", "9000/SCTP" })
    assert.same({ "80/tcp", "81/tcp" }, exposed { "--expose", "80/", "--expose", "080", "--expose", "81/tcp/x" })
    assert.same({ "443/tcp", "444/tcp", "80/tcp" }, exposed { "-p", "8080:80", "--expose", "443-444/tcp", "--expose", "80" })
    local b = body { "-p", "8080:80", "--expose", "443" }
    assert.same({ ["80/tcp"] = { { HostIp = "", HostPort = "8080" } } }, b.HostConfig.PortBindings)
    assert.is_nil(body({}).ExposedPorts)
  end)

  it("gives docker's message for each port it refuses", function()
    local function bad(v, err) return { { "--expose", v }, ("invalid range format for --expose: %s, error: %s"):format(v, err) } end
    refuses {
      bad("x", 'strconv.ParseUint: parsing "x": invalid syntax'),
      bad("70000", 'strconv.ParseUint: parsing "70000": value out of range'),
      bad("92-90", "invalid range specified for port: 92-90"),
      bad("", "empty string specified for ports"),
      bad("/tcp", "empty string specified for ports"),
      bad("80-", 'strconv.ParseUint: parsing "": invalid syntax'),
      bad("-80", 'strconv.ParseUint: parsing "": invalid syntax'),
      bad("+80", 'strconv.ParseUint: parsing "+80": invalid syntax'),
      { { "--expose", "80/icmp" }, "invalid proto: icmp" },
    }
  end)
end)

describe("run's --env-file", function()
  it("reads docker's format: comments, blank lines, a bare NAME from here, the files before -e", function()
    local path = os.tmpname()
    write(path, "\239\187\191# a comment\n\n  A=1\nB= spaced value \nHERE\nNOT_HERE\n\t# indented comment\nC=\r\nD=x=y\n")
    local b = body({ "--env-file", path, "-e", "E=2" }, function(k) return ({ HERE = "h" })[k] end)
    assert.same({ "A=1", "B= spaced value ", "HERE=h", "C=", "D=x=y", "E=2" }, b.Env)
    write(path, "BAD NAME=1\n")
    local req, msg = request { "--env-file", path }
    assert.is_nil(req)
    assert.equal("poorly formatted environment: variable 'BAD NAME' contains whitespaces", msg)
    write(path, "=1\n")
    assert.equal("poorly formatted environment: no variable name on line '=1'", select(2, request { "--env-file", path }))
    os.remove(path)
    assert.equal("open " .. path .. ": no such file or directory", select(2, request { "--env-file", path }))
  end)
end)

describe("run's limits, capabilities and the rest", function()
  it("reads --memory as docker's RAMInBytes and --cpus as NanoCPUs", function()
    for _, case in ipairs { { "512", 512 }, { "10b", 10 }, { "4k", 4096 }, { "64m", 64 * 1024 ^ 2 }, { "1.5g", 1.5 * 1024 ^ 3 },
      { "2GiB", 2 * 1024 ^ 3 }, { "3 MB", 3 * 1024 ^ 2 }, { "1t", 1024 ^ 4 } } do
      assert.equal(case[2], body({ "-m", case[1] }).HostConfig.Memory, case[1])
    end
    assert.equal(1024, body({ "--memory=1k" }).HostConfig.Memory)
    for _, case in ipairs { { "1", 1e9 }, { "0.5", 5e8 }, { "1.25", 1.25e9 }, { "3/2", 1.5e9 }, { ".000000001", 1 },
      { "2e-1", 2e8 }, { "16", 1.6e10 } } do
      assert.equal(case[2], body({ "--cpus", case[1] }).HostConfig.NanoCpus, case[1])
    end
    refuses {
      { { "-m", "lots" }, [[invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots']] },
      { { "-m", "1x" }, [[invalid argument "1x" for "-m, --memory" flag: invalid suffix: 'x']] },
      { { "-m", "1kbb" }, [[invalid argument "1kbb" for "-m, --memory" flag: invalid suffix: 'kbb']] },
      { { "-m", "1..5m" }, [[invalid argument "1..5m" for "-m, --memory" flag: strconv.ParseFloat: parsing "1..5": invalid syntax]] },
      { { "--cpus", "two" }, [[invalid argument "two" for "--cpus" flag: failed to parse two as a rational number]] },
      { { "--cpus", "0.0000000001" }, [[invalid argument "0.0000000001" for "--cpus" flag: value is too precise]] },
    }
  end)

  it("normalises capabilities as docker sends them", function()
    local hc = body({ "--cap-add", "chown", "--cap-add", "CAP_NET_ADMIN", "--cap-add", "Chown", "--cap-drop", "net_raw",
      "--cap-drop", "NET_ADMIN" }).HostConfig
    assert.same({ "CAP_CHOWN", "CAP_NET_ADMIN" }, hc.CapAdd)
    -- added and dropped: added, as docker has it
    assert.same({ "CAP_NET_RAW" }, hc.CapDrop)
    hc = body({ "--cap-drop", "all", "--cap-drop", "chown", "--cap-add", "chown" }).HostConfig
    assert.same({ "ALL" }, hc.CapDrop)
    assert.same({ "CAP_CHOWN" }, hc.CapAdd)
    assert.is_nil(body({}).HostConfig.CapAdd)
  end)

  it("takes --add-host host:ip, host=ip, bracketed IPv6 and host-gateway", function()
    assert.same({ "db:10.0.0.2", "v6:::1", "eq:1.2.3.4", "gw:host-gateway", "full:2001:db8::1" },
      body({ "--add-host", "db:10.0.0.2", "--add-host", "v6:[::1]", "--add-host", "eq=1.2.3.4", "--add-host", "gw:host-gateway",
        "--add-host", "full:2001:db8::1" }).HostConfig.ExtraHosts)
    refuses {
      { { "--add-host", "db" }, [[invalid argument "db" for "--add-host" flag: bad format for add-host: "db"]] },
      { { "--add-host", ":1.2.3.4" }, [[invalid argument ":1.2.3.4" for "--add-host" flag: bad format for add-host: ":1.2.3.4"]] },
      { { "--add-host", "db:10.0.0" }, [[invalid argument "db:10.0.0" for "--add-host" flag: IP address is not correctly formatted: 10.0.0]] },
      { { "--add-host", "db:01.2.3.4" }, [[invalid argument "db:01.2.3.4" for "--add-host" flag: IP address is not correctly formatted: 01.2.3.4]] },
      { { "--add-host", "db:1::2::3" }, [[invalid argument "db:1::2::3" for "--add-host" flag: IP address is not correctly formatted: 1::2::3]] },
    }
  end)

  it("reads --restart as docker does, and refuses it with --rm", function()
    assert.same({ Name = "on-failure", MaximumRetryCount = 3 }, body({ "--restart", "on-failure:3" }).HostConfig.RestartPolicy)
    assert.same({ Name = "on-failure", MaximumRetryCount = 0 }, body({ "--restart", "on-failure" }).HostConfig.RestartPolicy)
    assert.same({ Name = "unless-stopped", MaximumRetryCount = 0 }, body({ "--restart=unless-stopped" }).HostConfig.RestartPolicy)
    assert.same({ Name = "no", MaximumRetryCount = 0 }, body({ "--rm", "--restart", "no" }).HostConfig.RestartPolicy)
    refuses {
      { { "--rm", "--restart", "always" }, "conflicting options: cannot specify both --restart and --rm" },
      { { "--restart", "always:2" }, "invalid restart policy: maximum retry count can only be used with 'on-failure'" },
      { { "--restart", "no:-1" }, "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative" },
      { { "--restart", "on-failure:-1" }, "invalid restart policy: maximum retry count cannot be negative" },
      { { "--restart", "on-failure:x" }, "invalid restart policy format: maximum retry count must be an integer" },
      { { "--restart", ":3" }, "invalid restart policy format: no policy provided before colon" },
      { { "--restart", "sometimes" },
        "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'" },
    }
  end)

  it("takes --stop-signal, the switches and --platform as docker sends them", function()
    assert.equal("SIGUSR1", body({ "--stop-signal", "SIGUSR1" }).StopSignal)
    assert.equal("term", body({ "--stop-signal", "term" }).StopSignal)
    assert.equal("9", body({ "--stop-signal", "9" }).StopSignal)
    assert.equal("RTMIN+3", body({ "--stop-signal", "RTMIN+3" }).StopSignal)
    local hc = body({ "--privileged", "--init", "--read-only" }).HostConfig
    assert.is_true(hc.Privileged)
    assert.is_true(hc.Init)
    assert.is_true(hc.ReadonlyRootfs)
    hc = body({}).HostConfig
    assert.is_nil(hc.Privileged or hc.Init or hc.ReadonlyRootfs)
    for _, case in ipairs { { "linux/amd64", "linux/amd64" }, { "Linux/X86_64", "linux/amd64" }, { "arm64", "linux/arm64/v8" },
      { "linux/arm/v6", "linux/arm/v6" }, { "linux", "linux/amd64" } } do
      local _, req = body { "--platform", case[1] }
      assert.equal(case[2], req.platform, case[1])
    end
    assert.is_nil(select(2, body({})).platform)
    refuses {
      { { "--stop-signal", "SIGNOPE" }, "Invalid signal: SIGNOPE" },
      { { "--stop-signal", "0" }, "Invalid signal: 0" },
      { { "--platform", "amiga" },
        'error parsing specified platform: "amiga": unknown operating system or architecture: invalid argument' },
    }
  end)
end)

describe("dockerpty run --help", function()
  it("lists each of these flags, with what its value is", function()
    local out, err, status = dp { "run", "--help" }
    assert.equal(0, status, err)
    for _, flag in ipairs { "-v, --volume list", "--mount mount", "-p, --publish list", "--env-file list", "--privileged",
      "--init", "--platform string", "--cap-add list", "--cap-drop list", "-m, --memory bytes", "--cpus decimal",
      "--add-host list", "--restart string", "--stop-signal string", "--read-only", "--tmpfs list", "--expose list" } do
      assert.truthy(out:find("  " .. flag .. " ", 1, true), flag)
    end
  end)
end)

describe("run's mounts, limits and capabilities #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  local function run(args)
    local argv = { "run", "--rm", "-l", helpers.label, "--network", "none" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return dp(argv)
  end

  it("binds a host directory, read-only when asked", function()
    local dir = tmpdir()
    write(dir .. "/seen", "from the host\n")
    local out, err, status = run { "-v", dir .. ":/data", "busybox", "sh", "-c", "cat /data/seen; echo made > /data/made" }
    assert.equal(0, status, err)
    assert.equal("from the host\n", out)
    local f = assert(io.open(dir .. "/made"))
    assert.equal("made\n", f:read("*a"))
    f:close()
    out, err, status = run { "-v", dir .. ":/data:ro", "busybox", "sh", "-c", "cat /data/seen && echo no > /data/ro" }
    assert.equal(1, status)
    assert.equal("from the host\n", out)
    assert.matches("Read%-only file system", err)
    assert.is_nil(io.open(dir .. "/ro"))
    out, err, status = run { "--mount", "type=bind,src=" .. dir .. ",dst=/m,readonly", "busybox", "sh", "-c",
      "cat /m/seen && touch /m/ro2" }
    assert.equal(1, status)
    assert.equal("from the host\n", out)
    assert.matches("Read%-only file system", err)
    assert.is_nil(io.open(dir .. "/ro2"))
    os.execute("rm -rf " .. dir)
  end)

  it("keeps a named volume's files from one container to the next", function()
    local name = "dockerpty-spec-" .. helpers.run_id
    assert(c:request("POST", "/volumes/create", { body = { Name = name, Labels = { [helpers.label] = "1" } } }))
    finally(function() c:request("DELETE", "/volumes/" .. name, { query = { force = true } }) end)
    local _, err, status = run { "-v", name .. ":/vol", "busybox", "sh", "-c", "echo kept > /vol/f" }
    assert.equal(0, status, err)
    local out
    out, err, status = run { "--mount", "source=" .. name .. ",target=/again,readonly", "busybox", "cat", "/again/f" }
    assert.equal(0, status, err)
    assert.equal("kept\n", out)
    local vol = assert(c:request("GET", "/volumes/" .. name))
    assert.equal(name, vol.Name)
  end)

  it("mounts --tmpfs and a tmpfs --mount, seen in /proc/mounts", function()
    local out, err, status = run { "--tmpfs", "/scratch:size=64k", "--mount", "type=tmpfs,dst=/t2,tmpfs-size=128k",
      "busybox", "grep", "tmpfs /scratch \\|tmpfs /t2 ", "/proc/mounts" }
    assert.equal(0, status, err)
    assert.matches("tmpfs /scratch tmpfs [^\n]*size=64k", out)
    assert.matches("tmpfs /t2 tmpfs [^\n]*size=128k", out)
  end)

  it("runs the engine's init as PID 1 with --init", function()
    local info = assert(c:info())
    assert(info.InitBinary and info.InitBinary ~= "",
      "the test engine has no init binary (docker info's InitBinary is empty): --init cannot be checked")
    local out, err, status = run { "--init", "busybox", "cat", "/proc/1/cmdline" }
    assert.equal(0, status, err)
    local argv0 = out:match("^[^%z]*")
    assert.equal(info.InitBinary:match("[^/]*$"), argv0:match("[^/]*$"))
    out = run { "busybox", "cat", "/proc/1/cmdline" }
    assert.equal("cat", out:match("^[^%z]*"))
  end)

  it("drops every capability but the one added", function()
    local out, err, status = run { "--cap-drop", "ALL", "--cap-add", "CHOWN", "busybox", "grep", "CapEff", "/proc/self/status" }
    assert.equal(0, status, err)
    assert.equal("CapEff:\t0000000000000001\n", out)
    out = run { "busybox", "grep", "CapEff", "/proc/self/status" }
    assert.is_true(tonumber(assert(out:match("CapEff:%s*(%x+)")), 16) > 1)
  end)

  -- created, not started: this engine's runtime may not grant a privileged container its caps
  it("stores --privileged, --init and --read-only in the container's HostConfig", function()
    local req = assert(cli.run_request { "-l", helpers.label, "--network", "none", "--privileged", "--init", "--read-only",
      "busybox", "true" })
    local made = assert(c:create_container(req.body, { platform = req.platform }))
    local hc = assert(c:inspect_container(made.Id)).HostConfig
    assert.is_true(hc.Privileged)
    assert.is_true(hc.Init)
    assert.is_true(hc.ReadonlyRootfs)
  end)

  it("makes the root filesystem read-only with --read-only, a --tmpfs still writable", function()
    local out, err, status = run { "--read-only", "--tmpfs", "/tmp", "busybox", "sh", "-c",
      "echo ok > /tmp/w && cat /tmp/w && touch /root-file" }
    assert.equal(1, status)
    assert.equal("ok\n", out)
    assert.matches("Read%-only file system", err)
  end)

  it("gives the container --env-file's variables and --add-host's names", function()
    local path = os.tmpname()
    write(path, "# set by the file\nFROM_FILE=yes\n")
    local out, err, status = run { "--env-file", path, "--add-host", "db.internal:10.9.8.7", "busybox", "sh", "-c",
      'echo "$FROM_FILE"; grep db.internal /etc/hosts' }
    os.remove(path)
    assert.equal(0, status, err)
    assert.matches("^yes\n10%.9%.8%.7%s+db%.internal\n$", out)
  end)

  it("stores --memory, --cpus, --restart, --stop-signal, --add-host and -p as inspect shows them", function()
    local out, err, status = dp { "run", "-d", "-l", helpers.label, "--network", "none", "-m", "64m", "--cpus", "0.5",
      "--restart", "on-failure:2", "--stop-signal", "SIGUSR1", "--add-host", "a.test:10.1.2.3", "--add-host", "gw:host-gateway",
      "-p", "127.0.0.1:18080-18081:80-81", "-p", "9053:53/udp", "busybox", "sleep", "60" }
    assert.equal(0, status, err)
    local id = assert(out:match("^(%x+)\n$"))
    local info = assert(c:inspect_container(id))
    local hc = info.HostConfig
    assert.equal(64 * 1024 * 1024, hc.Memory)
    assert.equal(500000000, hc.NanoCpus)
    assert.same({ Name = "on-failure", MaximumRetryCount = 2 }, hc.RestartPolicy)
    assert.equal("SIGUSR1", info.Config.StopSignal)
    assert.equal("10.1.2.3", ({ hc.ExtraHosts[1]:match("^a%.test:(.*)$") })[1])
    assert.matches("^gw:", hc.ExtraHosts[2])
    -- stored even with no network to bind them on
    assert.same({ { HostIp = "127.0.0.1", HostPort = "18080" } }, hc.PortBindings["80/tcp"])
    assert.same({ { HostIp = "127.0.0.1", HostPort = "18081" } }, hc.PortBindings["81/tcp"])
    assert.same({ { HostIp = "", HostPort = "9053" } }, hc.PortBindings["53/udp"])
    assert.same({ ["53/udp"] = {}, ["80/tcp"] = {}, ["81/tcp"] = {} }, info.Config.ExposedPorts)
  end)

  it("stores -p's long form and --expose as inspect shows them", function()
    local out, err, status = dp { "run", "-d", "-l", helpers.label, "--network", "none",
      "-p", "target=80,published=18090,protocol=udp,host_ip=127.0.0.1,mode=host", "-p", "target=81,published=18091",
      "-p", "host_ip=::1,target=82", "--expose", "7000-7002/udp", "--expose", "443", "busybox", "true" }
    assert.equal(0, status, err)
    local id = assert(out:match("^(%x+)\n$"))
    local info = assert(c:inspect_container(id))
    assert.same({
      ["80/udp"] = { { HostIp = "127.0.0.1", HostPort = "18090" } },
      ["81/tcp"] = { { HostIp = "", HostPort = "18091" } },
      ["82/tcp"] = { { HostIp = "::1", HostPort = "" } },
    }, info.HostConfig.PortBindings)
    assert.same({ ["80/udp"] = {}, ["81/tcp"] = {}, ["82/tcp"] = {}, ["443/tcp"] = {}, ["7000/udp"] = {}, ["7001/udp"] = {},
      ["7002/udp"] = {} }, info.Config.ExposedPorts)
  end)

  it("creates for the --platform asked, and says so when the image is not for it", function()
    local out, err, status = run { "--platform", "linux/amd64", "--pull", "never", "busybox", "echo", "amd64" }
    assert.equal(0, status, err)
    assert.equal("amd64\n", out)
    out, err, status = run { "--platform", "linux/s390x", "--pull", "never", "busybox", "true" }
    assert.equal(125, status)
    assert.equal("", out)
    assert.matches("s390x", err)
    assert.equal(1, select(2, err:gsub("\n", "")))
  end)

  it("ends with 125 and the one line before anything is created", function()
    local before = #helpers.ours(c)
    for _, args in ipairs { { "-v", "rel/dir:/x" }, { "--mount", "type=bind,target=/x" }, { "-p", "80-81:90-92" },
      { "-p", "published=8080" }, { "--expose", "92-90" },
      { "-m", "lots" }, { "--restart", "always", "--rm" } } do
      local argv = { "run", "-l", helpers.label }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      argv[#argv + 1] = "busybox"
      local out, err, status = dp(argv)
      assert.equal(125, status, table.concat(args, " "))
      assert.equal("", out)
      assert.equal(1, select(2, err:gsub("\n", "")), err)
      assert.is_nil(err:find("traceback"))
    end
    assert.equal(before, #helpers.ours(c))
  end)
end)
