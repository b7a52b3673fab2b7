-- Image references as docker reads them, and the JSON-lines splitter a pull's answer goes through.
local reference = require "dockerpty.reference"
local jsonlines = require "dockerpty.jsonlines"

describe("reference.parse", function()
  local H64 = ("0123456789abcdef"):rep(4)
  local good = {
    -- input, full string, familiar string with the default tag
    { "busybox", "docker.io/library/busybox", "busybox:latest" },
    { "busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36" },
    { "library/busybox", "docker.io/library/busybox", "busybox:latest" },
    { "docker.io/library/busybox", "docker.io/library/busybox", "busybox:latest" },
    { "me/app", "docker.io/me/app", "me/app:latest" },
    { "127.0.0.1:5000/dockerpty/busybox", "127.0.0.1:5000/dockerpty/busybox", "127.0.0.1:5000/dockerpty/busybox:latest" },
    { "localhost/x:v_1.0-rc", "localhost/x:v_1.0-rc", "localhost/x:v_1.0-rc" },
    { "registry.example.com/a/b/c", "registry.example.com/a/b/c", "registry.example.com/a/b/c:latest" },
    { "a__b.c-d---e", "docker.io/library/a__b.c-d---e", "a__b.c-d---e:latest" },
    { "x@sha256:" .. H64, "docker.io/library/x@sha256:" .. H64, "x@sha256:" .. H64 },
    { "x:t@sha256:" .. H64, "docker.io/library/x:t@sha256:" .. H64, "x:t@sha256:" .. H64 },
    { "UPPER/x", "UPPER/x", "UPPER/x:latest" }, -- an upper-case first part is a host, as docker reads it
    { "x:" .. ("t"):rep(128), "docker.io/library/x:" .. ("t"):rep(128), "x:" .. ("t"):rep(128) },
  }
  for _, c in ipairs(good) do
    it("reads " .. c[1]:sub(1, 60), function()
      local r = assert(reference.parse(c[1]))
      assert.equal(c[2], reference.string(r))
      assert.equal(c[3], reference.familiar_string(reference.with_default_tag(r)))
    end)
  end

  local bad = {
    { "Busybox", reference.UPPERCASE },
    { "127.0.0.1:5000/Dockerpty/busybox", reference.UPPERCASE },
    { "me/App:latest", reference.UPPERCASE },
    { "", "invalid reference format: repository name must have at least one component" },
    { H64, "invalid repository name (" .. H64 .. "), cannot specify 64-byte hexadecimal strings" },
    { "a___b", reference.INVALID },
    { "-a", reference.INVALID },
    { "a-", reference.INVALID },
    { "a//b", reference.INVALID },
    { "a/", reference.INVALID },
    { "x:", reference.INVALID },
    { "x:-t", reference.INVALID },
    { "x:" .. ("t"):rep(129), reference.INVALID },
    { "x@sha256:abc", reference.INVALID },
    { "x@sha256:" .. H64 .. "0", reference.INVALID },
    { "host:port/x", reference.INVALID },
    { "-host:5000/x", reference.INVALID },
    { "a b", reference.INVALID },
    { ":latest", reference.INVALID },
    { "a/" .. ("b"):rep(250), "repository name must not be more than 255 characters" },
  }
  for _, c in ipairs(bad) do
    it("refuses " .. c[1]:sub(1, 60) .. " with docker's words", function()
      local r, err = reference.parse(c[1])
      assert.is_nil(r)
      assert.equal(c[2], err)
    end)
  end

  it("gives back what it reads, for references made at random", function()
    math.randomseed(22)
    local alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
    local function word(n)
      local t = {}
      for i = 1, n do
        local k = math.random(#alnum)
        t[i] = alnum:sub(k, k)
      end
      return table.concat(t)
    end
    local seps = { ".", "_", "__", "-", "--" }
    for _ = 1, 500 do
      local comps = {}
      for i = 1, math.random(1, 3) do
        local c = word(math.random(1, 4))
        if math.random() < 0.4 then c = c .. seps[math.random(#seps)] .. word(math.random(1, 3)) end
        comps[i] = c
      end
      local domain = math.random() < 0.5 and (word(3) .. "." .. word(2) .. (math.random() < 0.5 and ":" .. math.random(1, 65535) or "")) or nil
      local tag = math.random() < 0.5 and word(math.random(1, 10)) or nil
      local s = (domain and domain .. "/" or "") .. table.concat(comps, "/") .. (tag and ":" .. tag or "")
      local r, err = reference.parse(s)
      assert(r, s .. ": " .. tostring(err))
      -- with no host given, a first component with a dot is the host, as docker has it
      local host = domain or (#comps > 1 and comps[1]:find(".", 1, true) and comps[1]) or "docker.io"
      assert.equal(host, r.domain)
      assert.equal(tag, r.tag)
      local again = assert(reference.parse(reference.string(r)))
      assert.same(r, again)
      -- one upper-case letter in the last component is docker's lowercase error
      local last = comps[#comps]
      if last:find("%a") then
        comps[#comps] = last:gsub("%a", string.upper, 1)
        local up = (domain and domain .. "/" or "") .. table.concat(comps, "/") .. (tag and ":" .. tag or "")
        local ur, uerr = reference.parse(up)
        assert.is_nil(ur, up)
        assert.equal(reference.UPPERCASE, uerr)
      end
    end
  end)
end)

describe("jsonlines.splitter", function()
  it("gives whole lines only, an unended one kept for the next piece", function()
    local s = jsonlines.splitter()
    assert.same({}, s:feed('{"a":'))
    assert.same({ '{"a":1}', '{"b":2}' }, s:feed('1}\r\n{"b":2}\n\n{"c"'))
    assert.same({ '{"c":3}' }, s:feed(':3}\n'))
    assert.is_nil(s:finish())
    s:feed("tail")
    assert.equal("tail", s:finish())
  end)

  it("refuses a line longer than its bound, ended or not", function()
    local s = jsonlines.splitter(8)
    assert.same({ "12345678" }, s:feed("12345678\n"))
    local lines, err = s:feed("123456789\n")
    assert.is_nil(lines)
    assert.equal("a line of more than 8 bytes", err)
    s = jsonlines.splitter(8)
    assert.same({}, s:feed("1234"))
    lines, err = s:feed("56789")
    assert.is_nil(lines)
    assert.equal("a line of more than 8 bytes", err)
  end)

  it("gives the same lines however the bytes are cut", function()
    math.randomseed(7)
    for _ = 1, 300 do
      local want, parts = {}, {}
      for i = 1, math.random(0, 12) do
        want[i] = ("x"):rep(math.random(1, 20)) .. i
        parts[#parts + 1] = want[i] .. (math.random() < 0.3 and "\r\n" or "\n") .. (math.random() < 0.2 and "\n" or "")
      end
      local all = table.concat(parts)
      local s, got, pos = jsonlines.splitter(64), {}, 1
      while pos <= #all do
        local n = math.random(1, 9)
        for _, l in ipairs(assert(s:feed(all:sub(pos, pos + n - 1)))) do got[#got + 1] = l end
        pos = pos + n
      end
      assert.is_nil(s:finish())
      assert.same(want, got)
    end
  end)
end)
