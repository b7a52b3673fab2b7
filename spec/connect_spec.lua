-- dockerpty connect and dockerpty.connect (lua/dockerpty/remote.lua) against a real gateway:
-- spec/support/mini_gateway.lua in a child process (core.listen, core.gateway, a real exec per
-- upgrade), the command in a real pseudo-terminal.
local core = require "dockerpty.core"
local helpers = require "helpers"
local remote = require "dockerpty.remote"

local q = helpers.shell_quote
local TLS = helpers.tls
local TOKEN = "connect-spec-token-0123456789"

describe("remote's pure parts", function()
  it("reads a status as an exit code or the server's message", function()
    assert.equal(0, remote.status_result('{"metadata":{},"status":"Success","exit_code":0}'))
    assert.equal(0, remote.status_result('{"metadata":{},"status":"Success"}'))
    assert.equal(2, remote.status_result('{"status":"Failure","reason":"NonZeroExitCode",'
      .. '"details":{"causes":[{"reason":"ExitCode","message":"2"}]}}'))
    assert.same({ nil, "engine gone" },
      { remote.status_result('{"status":"Failure","reason":"InternalError","message":"engine gone"}') })
    assert.same({ nil, "the server sent a status that is not JSON" }, { remote.status_result("{") })
  end)

  it("takes http and https for ws and wss, and refuses a fragment without showing it", function()
    assert.equal("ws://h:1/x", remote.ws_url("http://h:1/x"))
    assert.equal("wss://h/x", remote.ws_url("HTTPS://h/x"))
    assert.equal("ws://h/x", remote.ws_url("ws://h/x"))
    local u, err = remote.ws_url("ws://h/x#token=s3cret")
    assert.is_nil(u)
    assert.not_matches("s3cret", err)
    assert.matches("not a ws://", select(2, remote.ws_url("ftp://h/x")))
  end)
end)

describe("dockerpty connect #engine", function()
  local c, id, gw

  -- The gateway in a child process: {url =, stop()}.
  local function start_gateway(tls)
    local out = os.tmpname()
    local args = q(TOKEN) .. (tls and (" " .. q(TLS .. "/server-cert.pem") .. " " .. q(TLS .. "/server-key.pem")) or "")
    local p = assert(io.popen(("exec %s -e %s spec/support/mini_gateway.lua %s >%s 2>&1 & echo $!"):format(
      helpers.lua, q(helpers.prelude), args, q(out))))
    local pid = p:read("*l")
    p:close()
    local url
    for _ = 1, 200 do
      local f = io.open(out)
      local line = f and f:read("*l")
      if f then f:close() end
      url = line and line:match("^listening (%S+)")
      if url then break end
      core.sleep(0.025)
    end
    assert(url, "the gateway did not start: " .. helpers.read_file(out))
    if tls then url = url:gsub("127%.0%.0%.1", "localhost") end
    return {
      url = url,
      log = function() return helpers.read_file(out) or "" end,
      stop = function(sig)
        os.execute(("kill -%s %s 2>/dev/null"):format(sig or "TERM", pid))
        os.remove(out)
      end,
    }
  end

  local function exec_url(g, argv, tty)
    local parts = {}
    for _, a in ipairs(argv) do
      parts[#parts + 1] = "cmd=" .. a:gsub("[^%w%-_.~]", function(ch) return ("%%%02X"):format(ch:byte()) end)
    end
    return ("%s/api/exec/%s?%s&tty=%d"):format(g.url, id, table.concat(parts, "&"), tty == false and 0 or 1)
  end

  local function connect(argv, opts)
    opts = opts or {}
    local cmd = { helpers.lua, "bin/dockerpty", "connect" }
    for _, a in ipairs(opts.flags or {}) do cmd[#cmd + 1] = a end
    cmd[#cmd + 1] = exec_url(opts.gateway or gw, argv, opts.tty)
    return helpers.pty_run(cmd, { rows = opts.rows, cols = opts.cols, env = { DOCKERPTY_TOKEN = TOKEN } })
  end

  setup(function()
    c = helpers.engine()
    id = helpers.container(c, { Cmd = { "sleep", "600" } })
    assert(c:start(id))
    gw = start_gateway()
  end)
  teardown(function()
    if gw then gw.stop() end
    if c then helpers.cleanup(c); c:close() end
  end)

  it("gives a shell: its prompt, the terminal's size and its changes, the exit code; the terminal back", function()
    local t = connect({ "sh" }, { rows = 30, cols = 100 })
    local before = t:settings()
    t:expect("# ")
    t:send("stty size\r")
    assert.equal("30 100", t:expect("(%d+ %d+)"))
    t:resize(40, 120)
    core.sleep(0.3)
    t:send("stty size\r")
    assert.equal("40 120", t:expect("(%d+ %d+)"))
    t:send("exit 3\r")
    assert.same({ "exit", 3 }, { t:wait() })
    assert.equal(before, t:settings())
    t:close()
  end)

  it("takes ctrl-c to the container's process", function()
    local t = connect({ "sh" })
    t:expect("# ")
    t:send("echo S''TART; sleep 30; echo not-\"\"interrupted\r")
    t:expect("START") -- the shell runs the line: the sleep is next
    core.sleep(0.5)
    t:send("\3")
    t:expect("# ")
    t:send("echo status-$?\r")
    assert.equal("130", t:expect("status%-(%d+)"))
    t:send("exit\r")
    assert.same({ "exit", 0 }, { t:wait() })
    assert.not_matches("not%-interrupted", t.out)
    t:close()
  end)

  it("detaches on ctrl-p ctrl-q, or on --detach-keys, as exec does", function()
    local t = connect({ "sh" })
    local before = t:settings()
    t:expect("# ")
    t:send("\16\17")
    assert.same({ "exit", 1 }, { t:wait() })
    assert.matches("dockerpty: read escape sequence\r?\n", t.out)
    assert.equal(before, t:settings())
    t:close()

    t = connect({ "sh" }, { flags = { "--detach-keys", "ctrl-x" } })
    t:expect("# ")
    t:send("\16\17echo still-here\r") -- not the keys now: they reach the shell
    t:expect("still%-here")
    t:send("\24")
    assert.same({ "exit", 1 }, { t:wait() })
    t:close()
  end)

  it("carries 8 MB typed at the terminal intact #heavy", function()
    local t = connect({ "sh", "-c", "stty raw -echo; echo READY; head -c 8388608 | md5sum" })
    t:expect("READY")
    local name = os.tmpname()
    assert(helpers.execute("head -c 6400000 /dev/urandom | base64 -w0 | head -c 8388608 > " .. name))
    local data = helpers.read_file(name)
    assert.equal(8388608, #data)
    for i = 1, #data, 65536 do t:send(data:sub(i, i + 65535)) end
    assert.equal(helpers.md5_file(name), t:expect("(%x+)  %-", 60))
    os.remove(name)
    assert.same({ "exit", 0 }, { t:wait() })
    t:close()
  end)

  it("delivers 8 MB of output intact, stdout and stderr apart #heavy", function()
    local out = os.tmpname()
    local url = exec_url(gw, { "sh", "-c", "head -c 8388608 /dev/urandom > /r && md5sum < /r >&2 && cat /r && rm /r" },
      false)
    local t = helpers.pty_run({ "sh", "-c", ("exec %s bin/dockerpty connect %s > %s"):format(helpers.lua, q(url), q(out)) },
      { env = { DOCKERPTY_TOKEN = TOKEN } })
    local sum = t:expect("(%x+)  %-", 60)
    assert.same({ "exit", 0 }, { t:wait(60) }, t.out .. "\nthe gateway said:\n" .. gw.log())
    t:close()
    local f = assert(io.open(out, "rb"))
    local size = f:seek("end")
    f:close()
    assert.equal(8388608, size)
    assert.equal(sum, helpers.md5_file(out))
    os.remove(out)
  end)

  it("sends stdin's end when stdin is no terminal, and takes its exit code", function()
    local name = os.tmpname()
    local f = assert(io.open(name, "wb"))
    f:write("line one\nline two\n")
    f:close()
    local url = exec_url(gw, { "sh", "-c", "cat; echo END; exit 7" }, false)
    local out, err, status = helpers.dockerpty({ "connect", url }, { stdin = name, env = { DOCKERPTY_TOKEN = TOKEN } })
    os.remove(name)
    assert.equal("line one\nline two\nEND\n", out)
    assert.equal("", err)
    assert.equal(7, status)
  end)

  it("ends on one line, with status 1 and the terminal back, when the gateway goes", function()
    local g = start_gateway()
    local t = connect({ "sh" }, { gateway = g })
    local before = t:settings()
    t:expect("# ")
    g.stop("KILL")
    assert.same({ "exit", 1 }, { t:wait() })
    assert.matches("dockerpty: the connection to ws://127%.0%.0%.1:%d+/api/exec/[^\n]* closed before an exit status"
      .. "[^\n]*\r?\n$", t.out)
    assert.equal(before, t:settings())
    t:close()
  end)

  it("says on one line, with status 1, that nothing answers", function()
    local l = assert(core.listen("127.0.0.1:0"))
    local addr = l:address()
    l:close()
    local out, err, status = helpers.dockerpty({ "connect", "ws://" .. addr .. "/api/exec/x?cmd=sh" })
    assert.same({ "", "dockerpty: cannot connect to ws://" .. addr .. "/api/exec/x?cmd=sh: Connection refused\n", 1 },
      { out, err, status })
  end)

  it("reads the token from --token-file or DOCKERPTY_TOKEN, never shows it, and is refused without", function()
    local url = exec_url(gw, { "sh", "-c", "echo in" }, false)
    local out, err, status = helpers.dockerpty({ "connect", url }, { env = { DOCKERPTY_TOKEN = "wrong-token-xyz" } })
    assert.equal(1, status)
    assert.equal("", out)
    assert.matches("^dockerpty: ws://[^\n]*: the server answered 401, not 101\n$", err)
    assert.not_matches("wrong%-token", err)
    local name = os.tmpname()
    local f = assert(io.open(name, "w"))
    f:write(TOKEN, "\n")
    f:close()
    out, err, status = helpers.dockerpty({ "connect", "--token-file", name, url })
    assert.same({ "in\n", "", 0 }, { out, err, status })
    os.remove(name)
    out, err, status = helpers.dockerpty({ "connect", "--token-file", name, url })
    assert.same({ "", "dockerpty: cannot read the token file " .. name .. ": No such file or directory\n", 125 },
      { out, err, status })
    out, err, status = helpers.dockerpty({ "connect", url .. "#token=" .. TOKEN })
    assert.same({ "", 1 }, { out, status })
    assert.matches("^dockerpty: the URL has a fragment", err)
    assert.not_matches(TOKEN, err, 1, true)
  end)

  it("connects over TLS with --cacert, and refuses a server it cannot verify", function()
    local g = start_gateway(true)
    local url = exec_url(g, { "sh", "-c", "echo over-tls" }, false)
    local out, err, status = helpers.dockerpty({ "connect", "--cacert", TLS .. "/ca/ca.pem", url },
      { env = { DOCKERPTY_TOKEN = TOKEN } })
    assert.same({ "over-tls\n", "", 0 }, { out, err, status })
    out, err, status = helpers.dockerpty({ "connect", "--cacert", TLS .. "/other-ca/ca.pem", url },
      { env = { DOCKERPTY_TOKEN = TOKEN } })
    assert.same({ "", 1 }, { out, status })
    assert.matches("^dockerpty: TLS with wss://localhost:%d+/[^\n]* failed: [^\n]+\n$", err)
    g.stop()
  end)

  it("gives a script a session it expects on, sends to, resizes and waits for", function()
    local url = exec_url(gw, { "sh" })
    local out, status = helpers.run_lua(([[
      local dockerpty = require "dockerpty"
      local s = assert(dockerpty.connect(%q, { token = %q, size = { 33, 99 } }))
      s:expect("# ")
      s:send("stty size; echo $((6*7))-done\r")
      print((select(2, s:expect("(%%d+ %%d+)"))), (select(2, s:expect("(%%d+)%%-done"))))
      s:resize(20, 70)
      s:send("stty size\r")
      print((select(2, s:expect("(%%d+ %%d+)"))))
      s:send("exit 4\r")
      print("exit", s:wait({ timeout = 10 }))
      s:close()
      local none, err, code = dockerpty.connect(%q, { token = "nope" })
      print(none, code, err:match("answered %%d+"))
    ]]):format(url, TOKEN, url))
    assert.equal("33 99\t42\n20 70\nexit\t4\nnil\tconnect\tanswered 401\n", out)
    assert.equal(0, status)
  end)
end)
