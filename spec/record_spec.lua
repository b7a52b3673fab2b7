-- Recordings' files: new and private, never written through a link or over a file's contents.
local helpers = require "helpers"
local record = require "dockerpty.record"

local function mode_of(path)
  local p = assert(io.popen("stat -c %a " .. helpers.shell_quote(path)))
  local m = p:read("*l")
  p:close()
  return m
end

describe("record.open #memcheck", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(helpers.execute("mkdir " .. helpers.shell_quote(dir)))
  end)
  after_each(function() helpers.execute("rm -rf " .. helpers.shell_quote(dir)) end)

  local function write(path, text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
  end

  it("makes a new file of mode 0600, whatever the umask", function()
    local rec = assert(record.open(dir .. "/new.cast", 24, 80))
    rec:output("hi")
    rec:close()
    rec:close()
    assert.equal("600", mode_of(dir .. "/new.cast"))
    assert.matches('"o","hi"%]', helpers.read_file(dir .. "/new.cast"))
  end)

  it("refuses a symbolic link, dangling or not, and leaves its target alone", function()
    write(dir .. "/victim", "precious\n")
    assert(helpers.execute(("ln -s victim %s/link.cast && ln -s nowhere %s/dangling.cast"):format(dir, dir)))
    for _, name in ipairs { "link.cast", "dangling.cast" } do
      local rec, err = record.open(dir .. "/" .. name, 24, 80)
      assert.is_nil(rec)
      assert.equal(("cannot record to %s/%s: a symbolic link, which is never followed"):format(dir, name), err)
      assert.same({ nil, err }, { record.check(dir .. "/" .. name) })
    end
    assert.equal("precious\n", helpers.read_file(dir .. "/victim"))
    assert.is_nil(io.open(dir .. "/nowhere"))
  end)

  it("refuses a file with something in it, and takes an empty one of the user's own", function()
    write(dir .. "/old.cast", "an older recording\n")
    local rec, err = record.open(dir .. "/old.cast", 24, 80)
    assert.is_nil(rec)
    assert.equal(("cannot record to %s/old.cast: exists, and is not overwritten"):format(dir), err)
    assert.equal("an older recording\n", helpers.read_file(dir .. "/old.cast"))
    write(dir .. "/empty.cast", "")
    assert(helpers.execute("chmod 644 " .. helpers.shell_quote(dir .. "/empty.cast")))
    assert.is_true(record.check(dir .. "/empty.cast"))
    rec = assert(record.open(dir .. "/empty.cast", 24, 80))
    rec:close()
    assert.equal("600", mode_of(dir .. "/empty.cast"))
  end)

  it("checks without leaving a file, and names the file and the cause", function()
    assert.is_true(record.check(dir .. "/probe.cast"))
    assert.is_nil(io.open(dir .. "/probe.cast"))
    assert.same({ nil, ("cannot record to %s/no/x.cast: No such file or directory"):format(dir) },
      { record.check(dir .. "/no/x.cast") })
    assert.same({ nil, ("cannot record to %s: exists, and is not overwritten"):format(dir) },
      { record.check(dir) })
  end)
end)
