-- Output through Lua (a recording, the escape filter) onto a stdout that another program left
-- non-blocking: every byte arrives, as it does from the pump alone.
local helpers = require "helpers"

-- A shell command line that runs argv with O_NONBLOCK set on its stdout.
local function nonblocking(argv)
  local q = {}
  for i, a in ipairs(argv) do q[i] = helpers.shell_quote(a) end
  return "python3 -c 'import fcntl, os, sys; fl = fcntl.fcntl(1, fcntl.F_GETFL); "
    .. "fcntl.fcntl(1, fcntl.F_SETFL, fl | os.O_NONBLOCK); os.execvp(sys.argv[1], sys.argv[1:])' "
    .. table.concat(q, " ")
end

describe("a non-blocking stdout #engine", function()
  local c, dir
  setup(function()
    c = helpers.engine()
    dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir " .. helpers.shell_quote(dir)))
  end)
  teardown(function()
    if c then helpers.cleanup(c); c:close() end
    helpers.execute("rm -rf " .. helpers.shell_quote(dir))
  end)

  it("takes all 4,000,000 bytes of a recorded session, and of a filtered one, from a slow reader", function()
    -- it prints once the attach has closed its stdin, however long the attach takes to come
    local id = helpers.container(c, { OpenStdin = true, StdinOnce = true,
      Cmd = { "sh", "-c", "read x; head -c 4000000 /dev/zero | tr '\\0' x" } })
    for _, how in ipairs { { "run", "--rm", "-l", helpers.label, "--record", dir .. "/run.cast", "busybox",
        "sh", "-c", "head -c 4000000 /dev/zero | tr '\\0' y" },
      { "attach", "--filter-escapes", id } } do
      local argv = { helpers.lua, "bin/dockerpty" }
      for _, a in ipairs(how) do argv[#argv + 1] = a end
      if how[1] == "attach" then assert(c:start(id)) end
      -- the reader waits before it reads, so the pipe fills and a write would say EAGAIN
      local out, status = helpers.popen_status(("env DOCKERPTY_SPEC_RUN=%s %s 2>%s/err </dev/null | (sleep 1; wc -c)")
        :format(helpers.run_id, nonblocking(argv), dir))
      assert.equal("4000000", out:match("%d+"), how[1] .. ": " .. helpers.read_file(dir .. "/err"))
      assert.equal(0, status)
      assert.equal("", helpers.read_file(dir .. "/err"))
    end
  end)
end)
