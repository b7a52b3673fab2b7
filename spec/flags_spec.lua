-- The pure parts of the command: flag parsing, the fuzzy matcher, key splitting, durations.
local flags = require "dockerpty.flags"
local sel = require "dockerpty.select"
local cli = require "dockerpty.cli"

local RUN = {
  { short = "i", long = "interactive", kind = "bool" },
  { short = "t", long = "tty", kind = "bool" },
  { long = "rm", kind = "bool" },
  { short = "e", long = "env", kind = "list" },
  { short = "w", long = "workdir", kind = "string" },
  { long = "sig-proxy", kind = "bool", default = true },
}

describe("flags.parse", function()
  it("reads flags as docker does", function()
    local v, pos = flags.parse({ "-it", "--rm", "-e", "A=1", "-eB=2", "--env", "C=3", "--env=D=4",
      "-w/tmp", "busybox", "sh", "-c", "echo -e" }, RUN, false)
    assert.is_true(v.interactive)
    assert.is_true(v.tty)
    assert.is_true(v.rm)
    assert.same({ "A=1", "B=2", "C=3", "D=4" }, v.env)
    assert.equal("/tmp", v.workdir)
    assert.is_true(v["sig-proxy"])
    assert.same({ "busybox", "sh", "-c", "echo -e" }, pos)
  end)

  it("reads -w= as an empty value, never taking the next argument", function()
    local v, pos = flags.parse({ "-w=", "busybox", "pwd" }, RUN, false)
    assert.equal("", v.workdir)
    assert.same({ "busybox", "pwd" }, pos)
    v, pos = flags.parse({ "--workdir=", "busybox" }, RUN, false)
    assert.equal("", v.workdir)
    assert.same({ "busybox" }, pos)
  end)

  it("takes bool values and defaults", function()
    local v = flags.parse({ "--sig-proxy=false", "-i=false" }, RUN, true)
    assert.is_false(v["sig-proxy"])
    assert.is_false(v.interactive)
    v = flags.parse({ "--sig-proxy=true" }, RUN, true)
    assert.is_true(v["sig-proxy"])
    -- every spelling docker's flags take
    for _, w in ipairs { "1", "t", "T", "TRUE", "true", "True" } do
      assert.is_true(flags.parse({ "--rm=" .. w }, RUN, true).rm, w)
    end
    for _, w in ipairs { "0", "f", "F", "FALSE", "false", "False" } do
      assert.is_false(flags.parse({ "--rm=" .. w }, RUN, true).rm, w)
    end
    assert.is_nil(flags.parse({ "--rm=tRuE" }, RUN, true))
    assert.is_nil(flags.parse({ "--rm=" }, RUN, true))
  end)

  it("stops at the first positional unless interspersed, and at --", function()
    local v, pos = flags.parse({ "x", "-i" }, RUN, true)
    assert.is_true(v.interactive)
    assert.same({ "x" }, pos)
    v, pos = flags.parse({ "x", "-i" }, RUN, false)
    assert.is_nil(v.interactive)
    assert.same({ "x", "-i" }, pos)
    v, pos = flags.parse({ "-i", "--", "-t" }, RUN, true)
    assert.is_nil(v.tty)
    assert.same({ "-t" }, pos)
  end)

  it("names what is wrong", function()
    local cases = {
      { { "--foo" }, "unknown flag: --foo" },
      { { "-x" }, "unknown shorthand flag: 'x' in -x" },
      { { "-ix" }, "unknown shorthand flag: 'x' in -ix" },
      { { "-e" }, "flag needs an argument: 'e' in -e" },
      { { "--workdir" }, "flag needs an argument: --workdir" },
      { { "--rm=maybe" }, 'invalid argument "maybe" for "--rm" flag: expected true or false' },
    }
    for _, c in ipairs(cases) do
      local v, err = flags.parse(c[1], RUN, true)
      assert.is_nil(v)
      assert.equal(c[2], err)
    end
  end)

  it("takes whole numbers for an int flag, and names a bad one", function()
    local T = { { short = "t", long = "time", kind = "int" } }
    assert.equal(5, flags.parse({ "-t", "5" }, T, true).time)
    assert.equal(-1, flags.parse({ "--time=-1" }, T, true).time)
    assert.equal(0, flags.parse({ "-t0" }, T, true).time)
    for _, args in ipairs { { "-t", "x" }, { "--time", "1.5" }, { "-t=" }, { "--time=" } } do
      local v, err = flags.parse(args, T, true)
      assert.is_nil(v)
      assert.matches('^invalid argument "[^"]*" for "%-%-?t[ime]*" flag: expected a whole number$', err)
    end
    assert.matches("%-t, %-%-time int", flags.help(T))
  end)

  it("lists flags for --help", function()
    local text = flags.help(RUN)
    assert.matches("%-i, %-%-interactive", text)
    assert.matches("    %-%-rm", text)
    assert.matches("%-e, %-%-env list", text)
  end)
end)

describe("select.fuzzy_score", function()
  it("matches subsequences, case-insensitively, and ranks tighter matches higher", function()
    assert.is_nil(sel.fuzzy_score("xyz", "web-server"))
    assert.is_number(sel.fuzzy_score("wsv", "web-server"))
    assert.is_number(sel.fuzzy_score("WEB", "web-server"))
    assert.is_true(sel.fuzzy_score("web", "web-server") > sel.fuzzy_score("web", "wide-ebb"))
    assert.is_true(sel.fuzzy_score("srv", "web-srv") > sel.fuzzy_score("srv", "sirve"))
    assert.equal(0, sel.fuzzy_score("", "anything"))
  end)
end)

describe("select.keys", function()
  it("splits typed bytes into keys", function()
    assert.same({ "a", "b", "up", "down", "enter" }, sel.keys("ab\27[A\27[B\r"))
    assert.same({ "escape" }, sel.keys("\27"))
    assert.same({ "backspace", "cancel", "up", "down", "left" }, sel.keys("\127\3\16\14\27OD"))
  end)

  it("passes over other keys' escape sequences, and keeps a UTF-8 character whole", function()
    -- Delete, Page Down, F1, F5, Home, alt-x: nothing; ctrl-up is up
    assert.same({ "a" }, sel.keys("\27[3~\27[6~\27OP\27[15~\27[H\27xa"))
    assert.same({ "b" }, sel.keys("\27[[A\27[[Eb")) -- the Linux console's F1 and F5
    assert.same({ "up", "down" }, sel.keys("\27[1;5A\27[1;2B"))
    assert.same({ "é", "€", "😀", "x" }, sel.keys("é€😀\27éx"))
    assert.same({ "escape", "escape" }, sel.keys("\27\27"))
    assert.same({ "escape", "[", "b" }, sel.keys("\27[\1b")) -- cut off by a control: what follows is typed
  end)

  it("says when the bytes so far end inside one key", function()
    for _, s in ipairs { "\27", "a\27[", "\27[1;5", "\27O", "\27[[", "\195", "\226\130", "\240\159\152" } do
      assert.is_true(sel.unfinished(s), s)
    end
    for _, s in ipairs { "", "a", "\27[A", "\27OD", "é", "€", "😀", "\27[3~" } do
      assert.is_false(sel.unfinished(s), s)
    end
  end)
end)

describe("select.printable", function()
  it("writes control characters as Go's strconv.Quote does", function()
    assert.equal("a\\tb\\n\\x1b[6n\\x00\\x7f\\u009b é", sel.printable("a\tb\n\27[6n\0\127\194\155 é"))
    assert.equal('say \\"hi\\" \\\\ \\r', sel.printable('say "hi" \\ \r', true))
    assert.equal('say "hi" \\', sel.printable('say "hi" \\'))
  end)
end)

describe("cli.human_duration", function()
  it("words durations as docker does", function()
    local cases = {
      { 0, "Less than a second" }, { 1, "1 second" }, { 59, "59 seconds" },
      { 60, "About a minute" }, { 119, "About a minute" }, { 120, "2 minutes" },
      { 3600, "About an hour" }, { 7200, "2 hours" }, { 47 * 3600, "47 hours" },
      { 48 * 3600, "2 days" }, { 14 * 86400, "2 weeks" }, { 60 * 86400, "2 months" },
      { 800 * 86400, "2 years" },
    }
    for _, c in ipairs(cases) do assert.equal(c[2], cli.human_duration(c[1])) end
  end)
end)

describe("dockerpty.select #engine", function()
  local helpers = require "helpers"
  local dockerpty = require "dockerpty"

  it("finds containers by pattern, label, status, image and fuzzy text", function()
    -- the names carry the run's id (before "sel", so that the fuzzy "seldb" finds no "sel-web"
    -- through the id's hex), so that runs sharing an engine never collide on a name
    local run = "dockerpty-spec-" .. helpers.run_id
    local WEB, DB = run .. "-sel-web", run .. "-sel-db"
    local run_p = (run:gsub("%p", "%%%0")) -- as a Lua pattern
    local SEL = "^" .. run_p .. "%-sel"
    local c = helpers.engine()
    finally(function() helpers.cleanup(c); c:close() end)
    local a = helpers.container(c, { Cmd = { "sleep", "300" }, Labels = { role = "front" } }, { name = WEB })
    local b = helpers.container(c, { Cmd = { "true" } }, { name = DB })
    assert(c:start(a))
    local function ids(list) local t = {} for _, x in ipairs(list) do t[#t + 1] = x.id end return t end
    assert.same({ a }, ids(assert(dockerpty.select(c, { name = SEL }))))
    local both = ids(assert(dockerpty.select(c, { name = SEL, all = true, text = "sel" })))
    table.sort(both)
    local want = { a, b }
    table.sort(want)
    assert.same(want, both)
    -- others' containers on the engine may have the label too: only this spec's are counted
    assert.same({ a }, ids(assert(dockerpty.select(c, { label = "role=front", name = SEL }))))
    assert.same({ a }, ids(assert(dockerpty.select(c, { label = "role", name = SEL }))))
    assert.same({ b }, ids(assert(dockerpty.select(c, { status = "created", name = run_p .. "%-sel%-db" }))))
    assert.same({ a }, ids(assert(dockerpty.select(c, { image = "busybox", name = run_p .. "%-sel%-web" }))))
    assert.same({ b }, ids(assert(dockerpty.select(c, { text = "seldb", all = true, name = SEL }))))
    local none, err, code = dockerpty.select(c, { status = "bogus" })
    assert.same({ nil, "Invalid filter 'status=bogus'", 400 }, { none, err, code })
    assert.equal(a, dockerpty.resolve(c, WEB))
    assert.equal(a, dockerpty.resolve(c, a))
  end)
end)
