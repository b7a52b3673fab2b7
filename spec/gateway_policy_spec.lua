-- A token's policy: which containers it sees, what it may run, and that a container outside
-- it is answered exactly as one that does not exist, by any name, id or prefix.
local policy = require "dockerpty.gateway.policy"
local helpers = require "spec.helpers"

local function P(raw) return assert(policy.check(raw)) end

-- An engine that answers GET /containers/json with a fixed list, and inspects from it.
local function stub(list)
  return {
    containers = function(_, opts)
      assert.is_true(opts.all)
      return list
    end,
    inspect_container = function(_, id)
      for _, c in ipairs(list) do
        if c.Id == id then return { Id = id, Config = { Tty = c.tty == true, Labels = c.Labels } } end
      end
      return nil, "No such container: " .. id, 404
    end,
  }
end

local function ct(id, name, labels, extra)
  local c = { Id = id, Names = { "/" .. name }, Labels = labels or {}, Image = "busybox", State = "running" }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

describe("gateway policy", function()
  it("checks the policy's shape, every mistake on its own line", function()
    local bad = {
      { nil, "policy: expected an object" },
      { { containers = { { name = "*" } }, attach = "yes" }, "policy.attach: expected true or false" },
      { {}, 'policy.containers is missing ([{"name": "*"}] is every container)' },
      { { containers = { {} } }, 'policy.containers[1]: names no condition ({"name": "*"} is every container)' },
      { { containers = { { labels = {} } } }, 'policy.containers[1].labels: expected a list of "key" or "key=value"' },
      { { containers = { { labels = { "=x" } } } }, 'policy.containers[1].labels[1]: expected "key" or "key=value"' },
      { { containers = { { name = "" } } }, 'policy.containers[1].name: expected a name or a glob as "web-*"' },
      { { containers = { { names = { "x" } } } }, 'policy.containers[1]: unknown field "names"' },
      { { containers = { { name = "*" } }, exec = "sh" }, "policy.exec: expected true, false or a list of commands" },
      { { containers = { { name = "*" } }, exec = { 3 } }, 'policy.exec[1]: expected a program ("sh") or an argv (["ps", "aux"])' },
      { { containers = { { name = "*" } }, exec = { { "ps", 1 } } }, "policy.exec[1]: expected a list of strings (an argv)" },
      { { containers = { { name = "*" } }, max_sessions = 0 }, "policy.max_sessions: expected a whole number, 1 or more" },
      { { containers = { { name = "*" } }, max_sessions = 1.5 }, "policy.max_sessions: expected a whole number, 1 or more" },
      { { containers = { { name = "*" } }, ["x\ny"] = 1 }, 'policy: unknown field "x\\x0ay"' },
    }
    for _, b in ipairs(bad) do
      local p, err = policy.check(b[1])
      assert.is_nil(p)
      assert.equal(b[2], err)
    end
  end)

  it("defaults to attach, no exec, input allowed, no cap of its own", function()
    local p = P { containers = { { name = "*" } } }
    assert.is_true(p.attach)
    assert.is_false(p.exec)
    assert.is_false(p.read_only)
    assert.is_nil(p.max_sessions)
    p = P { containers = { { name = "*" } }, attach = false, read_only = true, max_sessions = 3, exec = true }
    assert.is_false(policy.may_attach(p))
    assert.is_true(p.read_only)
    assert.equal(3, p.max_sessions)
  end)

  it("sees a container that matches any selector, each selector's conditions all", function()
    local p = P { containers = {
      { labels = { "team=web", "env" } },
      { name = "debug-*" },
      { labels = { "tier=db" }, name = "db-*-primary" },
    } }
    assert.is_true(policy.visible(p, ct("1", "x", { team = "web", env = "" })))
    assert.is_false(policy.visible(p, ct("1", "x", { team = "web" })))
    assert.is_false(policy.visible(p, ct("1", "x", { team = "webb", env = "prod" })))
    assert.is_true(policy.visible(p, ct("1", "debug-", {})))
    assert.is_true(policy.visible(p, ct("1", "debug-shell", {})))
    assert.is_false(policy.visible(p, ct("1", "xdebug-shell", {})))
    assert.is_true(policy.visible(p, ct("1", "db-eu-primary", { tier = "db" })))
    assert.is_false(policy.visible(p, ct("1", "db-eu-primary", {})))
    assert.is_false(policy.visible(p, ct("1", "db-eu-replica", { tier = "db" })))
    -- a glob's other characters are themselves, not Lua's pattern items
    local dots = P { containers = { { name = "a.b%c" } } }
    assert.is_true(policy.visible(dots, ct("1", "a.b%c")))
    assert.is_false(policy.visible(dots, ct("1", "axb%c")))
    -- an inspect's shape, its labels under Config, possibly null
    assert.is_true(policy.visible(p, { Id = "1", Name = "/debug-1", Config = { Labels = require("dockerpty").null } }))
    assert.is_true(policy.visible(p, { Id = "1", Name = "/x", Config = { Labels = { team = "web", env = "1" } } }))
    -- a link's alias is not a name of the container
    assert.is_false(policy.visible(p, { Id = "1", Names = { "/x", "/other/debug-1" }, Labels = {} }))
    assert.is_false(policy.visible(p, "nonsense"))
  end)

  it("resolves among the visible only: a miss, and any name outside, is No such container", function()
    local mine = ct("abc111" .. ("0"):rep(58), "mine", { team = "web" })
    local mine2 = ct("abd222" .. ("0"):rep(58), "mine2", { team = "web" })
    local theirs = ct("abc999" .. ("0"):rep(58), "theirs", { team = "ops" })
    local client = stub { mine, mine2, theirs }
    local p = P { containers = { { labels = { "team=web" } } } }
    assert.equal(mine, policy.resolve(p, client, "mine"))
    assert.equal(mine, policy.resolve(p, client, "/mine"))
    assert.equal(mine, policy.resolve(p, client, mine.Id))
    assert.equal(mine2, policy.resolve(p, client, "abd"))
    -- "abc" is a prefix of mine and of theirs: mine, as if theirs were not there
    assert.equal(mine, policy.resolve(p, client, "abc"))
    for _, ref in ipairs { "theirs", "/theirs", theirs.Id, "abc9", "nothing", "abe" } do
      local c, err, code = policy.resolve(p, client, ref)
      assert.is_nil(c)
      assert.equal("No such container: " .. ref, err)
      assert.equal(404, code)
    end
    -- the same answers for a name that no container has and for one outside
    local inside = { policy.resolve(p, stub { mine }, "theirs") }
    assert.same(inside, { policy.resolve(p, client, "theirs") })
    -- a prefix two visible ones share names only them
    local c, err, code = policy.resolve(p, client, "ab")
    assert.is_nil(c)
    assert.equal('"ab" matches 2 containers: abc111000000 (mine), abd222000000 (mine2)', err)
    assert.equal("ambiguous", code)
    assert.is_nil(err:find("theirs"))
    assert.same({ nil, "No such container: ", 404 }, { policy.resolve(p, client, "") })
  end)

  it("passes the engine's failures on", function()
    local client = { containers = function() return nil, "cannot connect", "connect" end }
    assert.same({ nil, "cannot connect", "connect" }, { policy.resolve(P { containers = { { name = "*" } } }, client, "x") })
  end)

  it("lists the visible containers as GET /api/containers gives them", function()
    local p = P { containers = { { name = "web-*" } } }
    local client = stub { ct("2", "web-b", {}, { tty = true }), ct("1", "web-a", {}), ct("3", "db", {}) }
    assert.same({
      { id = "1", name = "web-a", image = "busybox", state = "running", tty = false },
      { id = "2", name = "web-b", image = "busybox", state = "running", tty = true },
    }, policy.list(p, client))
  end)

  it("allows the commands it lists, by first word or word for word", function()
    local p = P { containers = { { name = "*" } }, exec = { "sh", { "ps", "aux" } } }
    assert.is_true(policy.may_exec(p, { "sh" }))
    assert.is_true(policy.may_exec(p, { "sh", "-c", "anything" }))
    assert.is_false(policy.may_exec(p, { "/bin/sh" }))
    assert.is_true(policy.may_exec(p, { "ps", "aux" }))
    assert.is_false(policy.may_exec(p, { "ps" }))
    assert.is_false(policy.may_exec(p, { "ps", "aux", "-x" }))
    assert.is_false(policy.may_exec(p, {}))
    assert.is_false(policy.may_exec(p, "sh"))
    assert.is_false(policy.may_exec(P { containers = { { name = "*" } } }, { "sh" }))
    assert.is_true(policy.may_exec(policy.full(), { "anything", "at", "all" }))
    assert.is_false(policy.may_exec(policy.full(), { "sh", 1 }))
  end)
end)

describe("gateway policy against the engine #engine", function()
  local c, web, ops
  setup(function()
    c = helpers.engine()
    local suffix = helpers.run_id
    web = helpers.container(c, { Cmd = { "true" }, Labels = { ["dockerpty.spec.team"] = "web" } },
      { name = "gw-web-" .. suffix })
    ops = helpers.container(c, { Cmd = { "true" }, Labels = { ["dockerpty.spec.team"] = "ops" } },
      { name = "gw-ops-" .. suffix })
  end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
  end)

  it("sees by the engine's labels and names, and hides the rest by any name", function()
    local p = P { containers = { { labels = { helpers.label, "dockerpty.spec.team=web" } } } }
    assert.equal(web, policy.resolve(p, c, "gw-web-" .. helpers.run_id).Id)
    assert.equal(web, policy.resolve(p, c, web:sub(1, 12)).Id)
    assert.is_true(policy.visible(p, assert(c:inspect_container(web))))
    assert.is_false(policy.visible(p, assert(c:inspect_container(ops))))
    for _, ref in ipairs { "gw-ops-" .. helpers.run_id, ops, ops:sub(1, 12) } do
      assert.same({ nil, "No such container: " .. ref, 404 }, { policy.resolve(p, c, ref) })
    end
    local names = {}
    for _, e in ipairs(assert(policy.list(p, c))) do names[#names + 1] = e.name end
    assert.same({ "gw-web-" .. helpers.run_id }, names)
    local by_name = P { containers = { { name = "gw-ops-*", labels = { helpers.label } } } }
    assert.equal(ops, policy.resolve(by_name, c, "gw-ops-" .. helpers.run_id).Id)
    assert.is_nil(policy.resolve(by_name, c, web))
  end)
end)
