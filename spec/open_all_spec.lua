-- Many sessions opened and closed at once: dockerpty.open_all, dockerpty.close_all, and the
-- client's post_later under them.
local dockerpty = require "dockerpty"
local helpers = require "helpers"

describe("open_all and close_all #engine", function()
  local c

  setup(function() c = helpers.engine() end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  local function gone(id)
    local info, _, code = c:inspect_container(id)
    return info == nil and code == 404
  end

  it("open new containers, an attach and an exec together, each one working, and close them", function()
    local stopped = helpers.container(c, { Cmd = { "sh", "-c", "echo attached-one" } })
    local running = helpers.container(c, { Cmd = { "sleep", "300" } })
    assert(c:start(running))
    local list = {}
    for i = 1, 6 do
      list[i] = { image = "busybox", command = { "sh" }, env = { N = tostring(i) }, labels = { [helpers.label] = "1" } }
    end
    list[7] = { container = stopped, tty = false }
    list[8] = { container = running, command = { "sh", "-c", "echo exec-one" }, tty = false }
    local sessions = assert(dockerpty.open_all(c, list))
    assert.equal(8, #sessions)
    local results = dockerpty.together(sessions, function(s, i)
      if i <= 6 then
        s:expect("/ # ", { plain = true })
        s:send("echo n=$N\r")
        return s:expect("n=(%d)\r")
      end
      return s:wait({ timeout = 20 }), s:output()
    end)
    for i = 1, 6 do assert.same({ true, "n=" .. i .. "\r", tostring(i) }, results[i]) end
    assert.same({ true, 0, "attached-one\n" }, results[7])
    assert.same({ true, 0, "exec-one\n" }, results[8])
    local ids = {}
    for i, s in ipairs(sessions) do ids[i] = s.container end
    assert.is_true(dockerpty.close_all(sessions))
    for i = 1, 6 do assert.is_true(gone(ids[i]), "session " .. i .. "'s container") end
    assert.is_false(gone(stopped)) -- not theirs to remove
    assert.is_true(assert(c:inspect_container(running)).State.Running)
    for _, s in ipairs(sessions) do assert.is_true(s.ended) end
    assert.is_true(dockerpty.close_all(sessions)) -- twice is harmless
  end)

  it("open none when one fails, leaving nothing behind, and say which and why", function()
    local before = #helpers.ours(c)
    local exits = 0
    local function shell(extra)
      local o = { image = "busybox", command = { "sh" }, labels = { [helpers.label] = "1" },
        on_exit = function() exits = exits + 1 end }
      for k, v in pairs(extra or {}) do o[k] = v end
      return o
    end
    -- at the create
    local s, err, code = dockerpty.open_all(c, { shell(), shell { image = "dockerpty-no-such-image" }, shell() })
    assert.is_nil(s)
    assert.matches("^session 2: No such image: dockerpty%-no%-such%-image", err)
    assert.equal(404, code)
    assert.equal(before, #helpers.ours(c))
    -- at the start
    s, err, code = dockerpty.open_all(c, { shell(), shell(), shell { command = { "dockerpty-no-such-command" } } })
    assert.is_nil(s)
    assert.matches("^session 3: .*dockerpty%-no%-such%-command", err)
    assert.equal(400, code)
    assert.equal(before, #helpers.ours(c))
    -- at the attach
    s, err, code = dockerpty.open_all(c, { shell(), { container = "dockerpty-no-such-container" } })
    assert.same({ nil, "session 2: No such container: dockerpty-no-such-container", 404 }, { s, err, code })
    assert.equal(before, #helpers.ours(c))
    -- a bad key spec, before anything is made
    s, err, code = dockerpty.open_all(c, { shell(), shell { detach_keys = "ctrl-pp" } })
    assert.same({ nil, 'session 2: detach keys: invalid key spec "ctrl-pp": unknown key "ctrl-pp"', "config" },
      { s, err, code })
    assert.equal(0, exits) -- sessions never handed over do not end for the host
    -- misuse raises, naming the session, and nothing is made
    local ok, e = pcall(dockerpty.open_all, c, { shell(), shell { comand = { "sh" } } })
    assert.is_false(ok)
    assert.equal([[bad argument #2 to 'open_all' (session 2: unknown option "comand")]], e)
    ok, e = pcall(dockerpty.open_all, c, { shell(), "busybox" })
    assert.is_false(ok)
    assert.equal([[bad argument #2 to 'open_all' (session 2: table expected)]], e)
    assert.has_error(function() dockerpty.close_all({ {} }) end,
      "bad argument #1 to 'close_all' (session 1: a session expected)")
    assert.equal(before, #helpers.ours(c))
    assert.same({}, assert(dockerpty.open_all(c, {})))
  end)

  it("post_later: a POST whose answer is read later, worded as request's", function()
    local made = assert(c:post_later("/containers/create", {
      body = { Image = "busybox", Cmd = { "true" }, Labels = { [helpers.label] = "1" } } }))
    local r = assert(made:result())
    assert.equal("string", type(r.Id))
    assert.is_true(assert(c:post_later("/containers/" .. r.Id .. "/start")):result())
    local refused = assert(c:post_later("/containers/create", { body = { Image = "dockerpty-no-such-image" } }))
    assert.same({ nil, "No such image: dockerpty-no-such-image:latest", 404 }, { refused:result() })
    assert.same({ nil, "No such image: dockerpty-no-such-image:latest", 404 }, { refused:result() }) -- kept
    assert(c:remove_container(r.Id, { force = true }))
  end)
end)
