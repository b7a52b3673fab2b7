-- Registry credentials as the docker CLI keeps them: auths, credsStore and credHelpers with
-- docker-credential-* programs of the spec's own on PATH, login and logout, against the real
-- engine and the TLS registry of scripts/registry, in a DOCKER_CONFIG of the spec's own.
local helpers = require "helpers"
local images = require "images"
local dockerpty = require "dockerpty"
local credentials = require "dockerpty.credentials"

local q = helpers.shell_quote

local function write(path, text, mode)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  if mode then assert(helpers.execute(("chmod %s %s"):format(mode, q(path)))) end
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- A credential store in a directory: one file a server, holding the JSON it was given.
local STORE = [[#!/bin/sh
dir=%s
key() { printf '%%s' "$1" | tr -c 'A-Za-z0-9.' _; }
case "$1" in
get) read -r server; f="$dir/$(key "$server")"
  if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
store) json=$(cat); server=$(printf '%%s' "$json" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p')
  printf '%%s' "$json" >"$dir/$(key "$server")" ;;
erase) read -r server; rm "$dir/$(key "$server")" 2>/dev/null || { echo "credentials not found in native keychain"; exit 1; } ;;
list) printf '{'; sep=; for f in "$dir"/*; do [ -f "$f" ] || continue
    s=$(sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p' "$f"); printf '%%s"%%s":"x"' "$sep" "$s"; sep=,; done; printf '}' ;;
esac
]]

describe("registry credentials #engine #images", function()
  local c, root, conf, bin, store, env, ref_n

  -- A repository of this run's own in the TLS registry, never pulled yet.
  local function fresh()
    ref_n = (ref_n or 0) + 1
    return images.copy(images.secure, "dockerpty/busybox", "cred" .. ref_n)
  end

  local function config(doc)
    write(conf .. "/config.json", dockerpty.json.encode(doc))
  end

  local function read_config()
    return dockerpty.json.decode(helpers.read_file(conf .. "/config.json"))
  end

  local function auth_of(user, password)
    return credentials.base64(user .. ":" .. password)
  end

  -- the password kept by the spec's store for server, as a helper would have it
  local function seed(server, user, password)
    write(store .. "/" .. server:gsub("[^%w.]", "_"),
      dockerpty.json.encode { ServerURL = server, Username = user, Secret = password })
  end

  local function run(args, opts)
    opts = opts or {}
    opts.env = env
    return helpers.dockerpty(args, opts)
  end

  local function getenv(k)
    if k == "DOCKER_CONFIG" then return conf end
    return os.getenv(k)
  end

  -- A chunk run with the spec's DOCKER_CONFIG and helpers on PATH; what it printed.
  local function api(code)
    local out, status = helpers.run_lua('local credentials = require "dockerpty.credentials"; ' .. code, env)
    assert.equal(0, status, out)
    return out
  end

  -- X-Registry-Auth or X-Registry-Config decoded back to its JSON.
  local function decode(value)
    assert.truthy(value:match("^[%w%-_=]+$"), value)
    return dockerpty.json.decode((helpers.popen_status("printf %s " .. q(value) .. " | tr -- '-_' '+/' | base64 -d")))
  end

  setup(function()
    c = helpers.engine()
    images.check()
    root = assert(helpers.popen_status("mktemp -d")):gsub("%s+$", "")
    conf, bin, store = root .. "/config", root .. "/bin", root .. "/store"
    assert(helpers.execute(("mkdir %s %s %s"):format(q(conf), q(bin), q(store))))
    write(bin .. "/docker-credential-spec", STORE:format(q(store)), "755")
    write(bin .. "/docker-credential-locked", "#!/bin/sh\necho 'the keychain is locked'\nexit 3\n", "755")
    write(bin .. "/docker-credential-garbage", "#!/bin/sh\necho 'Secret=hunter2 {not json'\n", "755")
    env = { DOCKER_CONFIG = conf, PATH = bin .. ":" .. os.getenv("PATH") }
  end)

  before_each(function()
    os.remove(conf .. "/config.json")
    assert(helpers.execute("rm -f " .. q(store) .. "/*"))
  end)

  teardown(function()
    helpers.cleanup(c)
    images.cleanup(c)
    if root then helpers.execute("rm -rf " .. q(root)) end
  end)

  it("pulls with the user and password of auths, the key written with a scheme and a path", function()
    local ref = fresh()
    config { auths = { ["https://127.0.0.1:5443/v2/"] = { auth = auth_of(images.user, images.password) } } }
    local out, err, status = run { "pull", "-q", ref }
    assert.equal(0, status, err)
    assert.equal(ref .. "\n", out)
    assert.is_table(c:inspect_image(ref))
  end)

  it("says a wrong password on one line, the registry's refusal, the password nowhere", function()
    local ref = fresh()
    config { auths = { [images.secure] = { auth = auth_of(images.user, "wrong-" .. images.password) } } }
    local out, err, status = run { "pull", ref }
    assert.equal(1, status)
    assert.truthy(err:match("^dockerpty: [^\n]*unauthorized[^\n]*\n$"), err)
    assert.is_nil((out .. err):find(images.password, 1, true))
    assert.is_nil(c:inspect_image(ref))
  end)

  it("run pulls a missing image with the credentials kept for its registry", function()
    local ref = fresh()
    config { auths = { [images.secure] = { auth = auth_of(images.user, images.password) } } }
    local out, err, status = run { "run", "--rm", "-l", helpers.label, ref, "echo", "ran" }
    assert.equal(0, status, err)
    assert.equal("ran\n", out)
    assert.truthy(err:find("Unable to find image '" .. ref .. "' locally", 1, true), err)
  end)

  it("takes them from credsStore's helper: login stores there, pull uses them, logout erases", function()
    config { credsStore = "spec", detachKeys = "ctrl-x,x" }
    local pw = os.tmpname()
    write(pw, images.password .. "\n")
    local out, err, status = run({ "login", "-u", images.user, "--password-stdin", "https://" .. images.secure }, { stdin = pw })
    os.remove(pw)
    assert.equal(0, status, err)
    assert.equal("Login Succeeded\n", out)
    assert.equal("", err) -- nothing kept unencrypted, so no warning
    local kept = dockerpty.json.decode(helpers.read_file(store .. "/127.0.0.1_5443"))
    assert.same({ ServerURL = images.secure, Username = images.user, Secret = images.password }, kept)
    local text = helpers.read_file(conf .. "/config.json")
    assert.is_nil(text:find(images.password, 1, true))
    assert.same({ credsStore = "spec", detachKeys = "ctrl-x,x", auths = { [images.secure] = {} } }, read_config())

    local ref = fresh()
    out, err, status = run { "pull", "-q", ref }
    assert.equal(0, status, err)
    assert.equal(ref .. "\n", out)

    out, err, status = run { "logout", images.secure }
    assert.equal(0, status, err)
    assert.equal("Removing login credentials for " .. images.secure .. "\n", out)
    assert.is_false(exists(store .. "/127.0.0.1_5443"))
    assert.same({ credsStore = "spec", detachKeys = "ctrl-x,x", auths = {} }, read_config())
  end)

  it("takes a server's credHelpers entry over credsStore", function()
    seed(images.secure, images.user, images.password)
    config { credsStore = "locked", credHelpers = { [images.secure] = "spec" } }
    local ref = fresh()
    local out, err, status = run { "pull", "-q", ref }
    assert.equal(0, status, err)
    assert.equal(ref .. "\n", out)
    -- the same from Lua: the encoded header, as client:pull takes it
    local auth = api(("io.write(assert(credentials.registry_auth(%q)))"):format(ref))
    assert.same({ username = images.user, password = images.password, serveraddress = images.secure }, decode(auth))
    assert.is_string((c:pull(fresh(), { auth = auth })))
  end)

  it("reads <token> from a helper as an identity token", function()
    seed(images.secure, "<token>", "tok-123")
    config { credsStore = "spec" }
    assert.same({ identitytoken = "tok-123", serveraddress = images.secure },
      decode(api(("io.write(credentials.encode(assert(credentials.get(%q))))"):format(images.secure))))
  end)

  it("says a missing, a failing and a garbage-printing helper on one line naming it", function()
    local ref = fresh()
    local cases = {
      { "nope", "^dockerpty: docker%-credential%-nope is not on PATH\n$" },
      { "locked", "^dockerpty: docker%-credential%-locked get failed with status 3: the keychain is locked\n$" },
      { "garbage", "^dockerpty: docker%-credential%-garbage get printed something that is not its JSON answer [^\n]*\n$" },
    }
    for _, case in ipairs(cases) do
      config { credsStore = case[1] }
      local out, err, status = run { "pull", ref }
      assert.equal(1, status, case[1] .. ": " .. err)
      assert.equal("", out)
      assert.truthy(err:match(case[2]), err)
      assert.is_nil(err:find("hunter2", 1, true)) -- what a helper printed may be a secret
    end
    config { credsStore = "locked" }
    local _, err, status = run { "run", "--rm", "-l", helpers.label, ref, "true" }
    assert.equal(125, status)
    assert.truthy(err:find("docker-credential-locked get failed", 1, true), err)
    assert.is_nil(c:inspect_image(ref))
  end)

  it("logs in against the registry, keeping the rest of config.json, in a new file of mode 0600", function()
    config { detachKeys = "ctrl-x,x", proxies = { default = { noProxy = "*.local" } }, list = dockerpty.array {} }
    local pw = os.tmpname()
    write(pw, images.password .. "\n")
    local out, err, status = run({ "login", "--username", images.user, "--password-stdin", images.secure }, { stdin = pw })
    os.remove(pw)
    assert.equal(0, status, err)
    assert.equal("Login Succeeded\n", out)
    assert.equal(("WARNING! Your credentials are stored unencrypted in '%s/config.json'.\n"):format(conf), err)
    assert.same({
      detachKeys = "ctrl-x,x", proxies = { default = { noProxy = "*.local" } }, list = {},
      auths = { [images.secure] = { auth = auth_of(images.user, images.password) } },
    }, read_config())
    assert.truthy(helpers.read_file(conf .. "/config.json"):find('"list": []', 1, true))
    assert.equal("600", (helpers.popen_status("stat -c %a " .. q(conf .. "/config.json")):gsub("%s+$", "")))
    assert.equal("config.json\n", (helpers.popen_status("ls -A " .. q(conf)))) -- no temporary file left
    local ref = fresh()
    out, err, status = run { "pull", "-q", ref }
    assert.equal(0, status, err)
    assert.equal(ref .. "\n", out)

    out, err, status = run { "logout", "https://" .. images.secure .. "/v2/" }
    assert.equal(0, status, err)
    assert.equal("Removing login credentials for " .. images.secure .. "\n", out)
    assert.same({ detachKeys = "ctrl-x,x", proxies = { default = { noProxy = "*.local" } }, list = {}, auths = {} },
      read_config())
    out = run { "logout", images.secure }
    assert.equal("Not logged in to " .. images.secure .. "\n", out)
  end)

  it("refuses a wrong password at login, keeping nothing and printing it nowhere", function()
    local pw = os.tmpname()
    write(pw, "wrong-" .. images.password .. "\n")
    local out, err, status = run({ "login", "-u", images.user, "--password-stdin", images.secure }, { stdin = pw })
    os.remove(pw)
    assert.equal(1, status)
    assert.equal("", out)
    assert.truthy(err:match("^dockerpty: [^\n]*401 Unauthorized[^\n]*\n$"), err)
    assert.is_nil(err:find(images.password, 1, true))
    assert.is_false(exists(conf .. "/config.json"))
    out, err, status = run { "login", "-u", images.user, "-p", "wrong-" .. images.password, images.secure }
    assert.equal(1, status)
    assert.truthy(err:find("^WARNING! Using %-%-password via the CLI is insecure%. Use %-%-password%-stdin%.\n"), err)
    assert.is_nil((out .. err):find(images.password, 1, true))
  end)

  it("says docker's words for flags that do not go together, and for no terminal", function()
    local _, err, status = run { "login", "-p", "x", "--password-stdin", "-u", "u", images.secure }
    assert.equal(1, status)
    assert.equal("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
      .. "dockerpty: --password and --password-stdin are mutually exclusive\n", err)
    _, err, status = run { "login", "--password-stdin", images.secure }
    assert.equal(1, status)
    assert.equal("dockerpty: Must provide --username with --password-stdin\n", err)
    _, err, status = run { "login", images.secure }
    assert.equal(1, status)
    assert.equal("dockerpty: Cannot perform an interactive login from a non TTY device\n", err)
  end)

  it("prompts on a terminal, the password unechoed, the terminal restored", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "login", images.secure }, { env = env })
    local before = t:settings()
    t:expect("Username: ", 10, true)
    t:send(images.user .. "\r")
    t:expect("Password: ", 10, true)
    t:send(images.password .. "\r")
    local how, code = t:wait(30)
    assert.equal("exit 0", how .. " " .. code, t.out)
    assert.truthy(t.out:find("Login Succeeded", 1, true), t.out)
    assert.is_nil(t.out:find(images.password, 1, true))
    assert.equal(before, t:settings())
    t:close()
    assert.same({ [images.secure] = { auth = auth_of(images.user, images.password) } }, read_config().auths)
  end)

  it("ends by ctrl-c at the password prompt with the terminal restored and nothing kept", function()
    local t = helpers.pty_run({ helpers.lua, "bin/dockerpty", "login", "-u", images.user, images.secure }, { env = env })
    local before = t:settings()
    t:expect("Password: ", 10, true)
    require("dockerpty.core").sleep(0.3) -- raw by now
    assert.are_not.equal(before, t:settings())
    t:send("half\3")
    local how, code = t:wait(10)
    assert.same({ "signal", 2 }, { how, code }, t.out)
    assert.equal(before, t:settings())
    assert.is_nil(t.out:find("half", 1, true))
    t:close()
    assert.is_false(exists(conf .. "/config.json"))
  end)

  it("says a config.json that is not JSON, naming it, and never writes over it", function()
    write(conf .. "/config.json", "{ not json")
    local out, err, status = run { "login", "-u", images.user, "-p", images.password, images.secure }
    assert.equal(1, status)
    assert.equal("", out)
    assert.truthy(err:match("\ndockerpty: " .. (conf .. "/config.json"):gsub("%p", "%%%0") .. ": [^\n]+\n$"), err)
    assert.equal("{ not json", helpers.read_file(conf .. "/config.json"))
    out, err, status = run { "logout", images.secure }
    assert.equal(1, status)
    assert.equal("", out)
    assert.truthy(err:find(conf .. "/config.json", 1, true), err)
    local got, gerr = credentials.get(images.secure, { getenv = getenv })
    assert.is_nil(got)
    assert.truthy(gerr:find(conf .. "/config.json: ", 1, true), gerr)
    assert.is_nil(credentials.registry_config { getenv = getenv })
  end)

  -- dockerpty build of a Dockerfile FROM a repository of this run's own in the TLS registry,
  -- absent from the engine: out, err, status, the base's reference and the tag built.
  local built_n = 0
  local function build_from(ref)
    assert.is_nil(c:inspect_image(ref)) -- the pull is the build's own, or the check means nothing
    built_n = built_n + 1
    local tag = images.prefix .. "/built" .. built_n .. ":1"
    local ctx = root .. "/ctx" .. built_n
    assert(helpers.execute("mkdir " .. q(ctx)))
    write(ctx .. "/Dockerfile", ("FROM %s AS base\nLABEL built=by-spec\n"):format(ref))
    local out, err, status = run { "build", "-t", tag, "--label", helpers.label, ctx }
    return out, err, status, tag
  end

  local function built(out, err, status, tag, ref)
    assert.equal(0, status, err)
    assert.truthy(out:find("Status: Downloaded newer image for " .. ref, 1, true), out)
    assert.truthy(out:find("\nSuccessfully tagged " .. tag .. "\n", 1, true), out)
    assert.equal("by-spec", assert(c:inspect_image(tag)).Config.Labels.built)
    assert.is_nil((out .. err):find(images.password, 1, true))
    c:remove_image(tag, { force = true })
  end

  it("builds FROM the TLS registry with the credentials of auths, sent as X-Registry-Config", function()
    config { auths = { ["https://" .. images.secure] = { auth = auth_of(images.user, images.password) } } }
    local ref = fresh()
    local out, err, status, tag = build_from(ref)
    built(out, err, status, tag, ref)
  end)

  it("builds FROM the TLS registry with a credential helper's, from credsStore and credHelpers", function()
    seed(images.secure, images.user, images.password)
    config { credsStore = "spec" }
    local ref = fresh()
    local out, err, status, tag = build_from(ref)
    built(out, err, status, tag, ref)
    config { credsStore = "locked", credHelpers = { [images.secure] = "spec" } }
    -- the store is locked: its list fails, and says so before anything is sent
    out, err, status = build_from(fresh())
    assert.equal(1, status)
    assert.equal("", out)
    assert.equal("dockerpty: docker-credential-locked list failed with status 3: the keychain is locked\n", err)
    config { credHelpers = { [images.secure] = "spec" } }
    ref = fresh()
    out, err, status, tag = build_from(ref)
    built(out, err, status, tag, ref)
  end)

  it("fails a build FROM the TLS registry with no credentials on one line, saying none were sent", function()
    config { auths = { ["127.0.0.1:6000"] = { auth = auth_of("someone", "else") } } }
    local ref = fresh()
    local out, err, status, tag = build_from(ref)
    assert.equal(1, status)
    assert.truthy(out:match("^Step 1/%d : FROM " .. ref:gsub("%p", "%%%0") .. " AS base\n$"), out)
    assert.truthy(err:match("^dockerpty: [^\n]+ %(no credentials sent for 127%.0%.0%.1:5443%)\n$"), err)
    assert.is_nil(c:inspect_image(ref))
    assert.is_nil(c:inspect_image(tag))
    os.remove(conf .. "/config.json")
    out, err, status = build_from(ref)
    assert.equal(1, status)
    assert.truthy(out:find("^Step 1/"), out)
    assert.equal(1, status)
    assert.truthy(err:match("^dockerpty: [^\n]+ %(no credentials sent for 127%.0%.0%.1:5443%)\n$"), err)
  end)

  it("gives every server's credentials as X-Registry-Config, as a build sends them", function()
    seed("127.0.0.1:6000", images.user, "from-store")
    config {
      credsStore = "spec",
      credHelpers = { ["127.0.0.1:7000"] = "spec" },
      auths = { ["https://127.0.0.1:5443"] = { auth = auth_of("a", "b:c") } },
    }
    seed("127.0.0.1:7000", "<token>", "tok")
    local config_of = "io.write(assert(credentials.registry_config()))"
    -- with a store set, the store is asked for every server, as docker asks it
    assert.same({
      ["127.0.0.1:6000"] = { username = images.user, password = "from-store", serveraddress = "127.0.0.1:6000" },
      ["127.0.0.1:7000"] = { identitytoken = "tok", serveraddress = "127.0.0.1:7000" },
    }, decode(api(config_of)))
    config { auths = { ["https://127.0.0.1:5443"] = { auth = auth_of("a", "b:c") } } }
    local doc = decode(api(config_of))
    assert.same({ [images.secure] = { username = "a", password = "b:c", serveraddress = images.secure } }, doc)
  end)
end)

describe("credentials.server", function()
  it("normalises names as docker does", function()
    local hub = credentials.INDEX_SERVER
    for _, s in ipairs { "", "docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/",
      "https://docker.io/v2/foo" } do
      assert.equal(hub, credentials.server(s), s)
    end
    assert.equal(hub, credentials.server(nil))
    assert.equal("127.0.0.1:5443", credentials.server("https://127.0.0.1:5443/v2/"))
    assert.equal("127.0.0.1:5443", credentials.server("http://127.0.0.1:5443"))
    assert.equal("registry.example:8080", credentials.server("registry.example:8080/some/path"))
    assert.equal(hub, credentials.for_reference("busybox"))
    assert.equal(hub, credentials.for_reference("library/busybox:1"))
    assert.equal("127.0.0.1:5443", credentials.for_reference("127.0.0.1:5443/a/b@sha256:" .. ("0"):rep(64)))
    assert.equal("localhost", credentials.for_reference("localhost/x"))
    assert.same({ nil, "invalid reference format: repository name must be lowercase" },
      { credentials.for_reference("127.0.0.1:5443/Upper") })
  end)
end)
