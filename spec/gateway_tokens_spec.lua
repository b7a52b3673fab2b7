-- The gateway's tokens file: what it takes, each of its mistakes on one line, the lookup.
local core = require "dockerpty.core"
local tokens = require "dockerpty.gateway.tokens"
local json = require("dockerpty").json

local SECRET = "correct-horse-battery-staple"
local ALL = { containers = { { name = "*" } } }

local function file_of(doc)
  return type(doc) == "string" and doc or json.encode(doc)
end

local function parse(doc)
  return tokens.parse(file_of(doc), "/etc/t.json")
end

local function tmpfile(text, mode)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  assert(os.execute(("chmod %s %s"):format(mode, path)))
  return path
end

describe("gateway tokens file", function()
  it("takes digests and plain tokens, with their policies", function()
    local set, plain = parse { tokens = {
      { name = "alice", sha256 = core.sha256(SECRET):upper(), policy = ALL },
      { name = "ci", token = "0123456789abcdef", policy = { containers = { { labels = { "ci" } } }, exec = { "sh" } } },
    } }
    assert.truthy(set)
    assert.is_true(plain)
    assert.equal("alice", set:find(SECRET).name)
    assert.equal("ci", set:find("0123456789abcdef").name)
    assert.same({ "sh" }, set:find("0123456789abcdef").policy.exec)
    assert.equal("ci", set:get("ci").name)
    assert.is_nil(set:get("bob"))
    assert.is_false(select(2, parse { tokens = { { name = "a", sha256 = core.sha256(SECRET), policy = ALL } } }))
  end)

  it("finds nothing for a wrong, near, short, empty, huge or non-string token, and says no more", function()
    local set = assert(parse { tokens = { { name = "a", sha256 = core.sha256(SECRET), policy = ALL },
      { name = "b", token = "0123456789abcdef", policy = ALL } } })
    for _, t in ipairs { SECRET .. "x", SECRET:sub(1, -2), "", "short", ("x"):rep(5000), core.sha256(SECRET) } do
      assert.is_nil(set:find(t))
    end
    assert.is_nil(set:find(nil))
    assert.is_nil(set:find(42))
    -- a digest of a short token loads, and still never matches
    local short = assert(parse { tokens = { { name = "s", sha256 = core.sha256("abc"), policy = ALL } } })
    assert.is_nil(short:find("abc"))
  end)

  local cases = {
    { "not JSON", "{", "^tokens file /etc/t.json: not JSON: " },
    { "a list at the top", "[]", 'tokens file /etc/t.json: expected an object with a "tokens" list' },
    { "no tokens field", { other = 1 }, 'expected an object with a "tokens" list' },
    { "an unknown top field", { tokens = { { name = "a", token = SECRET, policy = ALL } }, extra = 1 }, 'unknown field "extra"' },
    { "no tokens", { tokens = json.decode("[]") }, "tokens file /etc/t.json: lists no tokens" },
    { "an entry not an object", { tokens = { "x" } }, "entry 1: expected an object" },
    { "no name", { tokens = { { token = SECRET, policy = ALL } } }, 'entry 1: "name": expected' },
    { "a bad name", { tokens = { { name = "a b", token = SECRET, policy = ALL } } }, 'entry 1 ("a b"): "name": expected' },
    { "a duplicate name", { tokens = { { name = "a", token = SECRET, policy = ALL }, { name = "a", token = SECRET .. "2", policy = ALL } } },
      'tokens file /etc/t.json: entry 2 ("a"): duplicate name (also entry 1)' },
    { "a duplicate token", { tokens = { { name = "a", token = SECRET, policy = ALL }, { name = "b", sha256 = core.sha256(SECRET), policy = ALL } } },
      'entry 2 ("b"): same token as entry 1' },
    { "a short token", { tokens = { { name = "a", token = "fifteen-bytes!!", policy = ALL } } }, 'entry 1 ("a"): "token": shorter than 16 bytes' },
    { "a token with a space", { tokens = { { name = "a", token = "sixteen bytes ..", policy = ALL } } }, '"token": only printable ASCII' },
    { "a bad digest", { tokens = { { name = "a", sha256 = "abc", policy = ALL } } }, '"sha256": expected the 64 hex digits' },
    { "both secrets", { tokens = { { name = "a", sha256 = core.sha256(SECRET), token = SECRET, policy = ALL } } }, 'has both "sha256" and "token"' },
    { "no secret", { tokens = { { name = "a", policy = ALL } } }, 'entry 1 ("a"): has no "sha256" (or "token")' },
    { "no policy", { tokens = { { name = "a", token = SECRET } } }, 'entry 1 ("a"): has no "policy"' },
    { "an unknown entry field", { tokens = { { name = "a", token = SECRET, policy = ALL, readonly = true } } }, 'entry 1 ("a"): unknown field "readonly"' },
    { "a bad policy", { tokens = { { name = "a", token = SECRET, policy = { containers = {} } } } },
      'entry 1 ("a"): policy.containers: expected a non-empty list' },
    { "a misspelt policy field", { tokens = { { name = "a", token = SECRET, policy = { containers = { { name = "*" } }, read_onyl = true } } } },
      'entry 1 ("a"): policy: unknown field "read_onyl"' },
  }
  for _, c in ipairs(cases) do
    it("refuses " .. c[1] .. " on one line naming the file and the entry", function()
      local set, err = parse(c[2])
      assert.is_nil(set)
      assert.is_nil(err:find("\n"))
      assert.truthy(err:find(c[3], 1, c[3]:sub(1, 1) ~= "^"), err)
      assert.truthy(err:find("/etc/t.json", 1, true))
    end)
  end

  it("keeps a name's control characters off the line", function()
    local _, err = parse { tokens = { { name = "a\nb", token = SECRET, policy = ALL } } }
    assert.equal('tokens file /etc/t.json: entry 1 ("a\\x0ab"): "name": expected 1 to 64 letters, digits and ._@+- (a letter or digit first)', err)
  end)

  it("loads a file, and warns when a plain token is readable or the file writable by others", function()
    local digests = file_of { tokens = { { name = "a", sha256 = core.sha256(SECRET), policy = ALL } } }
    local plain = file_of { tokens = { { name = "a", token = SECRET, policy = ALL } } }
    local p = tmpfile(plain, "600")
    local set, warnings = tokens.load(p)
    assert.equal("a", set:find(SECRET).name)
    assert.same({}, warnings)
    os.remove(p)
    p = tmpfile(plain, "644")
    set, warnings = tokens.load(p)
    assert.truthy(set)
    assert.equal(1, #warnings)
    assert.truthy(warnings[1]:find(p .. " holds plain tokens and group or others may read it (mode 0644)", 1, true))
    os.remove(p)
    p = tmpfile(digests, "644")
    assert.same({}, select(2, tokens.load(p)))
    os.remove(p)
    p = tmpfile(digests, "666")
    warnings = select(2, tokens.load(p))
    assert.equal(1, #warnings)
    assert.truthy(warnings[1]:find("group or others may write it (mode 0666)", 1, true))
    -- through a symbolic link, the file's own mode
    local link = p .. ".link"
    assert(os.execute(("ln -s %s %s"):format(p, link)))
    assert.equal(1, #select(2, tokens.load(link)))
    os.remove(link)
    os.remove(p)
  end)

  it("says why a file cannot be loaded", function()
    local set, err = tokens.load("/nonexistent/tokens.json")
    assert.is_nil(set)
    assert.equal("cannot read tokens file /nonexistent/tokens.json: No such file or directory", err)
    set, err = tokens.load("/")
    assert.is_nil(set)
    assert.truthy(err:find("^cannot read tokens file /"), err)
    local p = tmpfile("not json", "600")
    set, err = tokens.load(p)
    assert.is_nil(set)
    assert.truthy(err:find("tokens file " .. p .. ": not JSON", 1, true))
    os.remove(p)
  end)

  it("generates a random token of 32 bytes in base64url, with every container", function()
    local t1, set = tokens.generate()
    local t2 = tokens.generate()
    assert.equal(43, #t1)
    assert.truthy(t1:match("^[%w_-]+$"))
    assert.not_equal(t1, t2)
    local e = set:find(t1)
    assert.equal("default", e.name)
    assert.is_true(e.policy.exec)
    assert.is_true(e.policy.attach)
    assert.is_nil(set:find(t2))
    assert.equal(core.sha256(t1), tokens.digest(t1))
  end)
end)

describe("doc/gateway.md's tokens file", function()
  it("loads, and its tokens reach what the page says", function()
    local f = assert(io.open("doc/gateway.md"))
    local text = f:read("*a")
    f:close()
    local example = text:match("## The tokens file.-```json\n(.-)```")
    local set = assert(tokens.parse(example, "doc/gateway.md"))
    assert.equal("alice", set:find("alice-token-0123456789abcdef").name)
    local web = set:find("web-team-token-0123456789abcdef")
    assert.equal("web-team", web.name)
    assert.equal(4, web.policy.max_sessions)
    assert.is_true(require("dockerpty.gateway.policy").may_exec(web.policy, { "ps", "aux" }))
    assert.is_true(set:find("a-plain-token-of-16-bytes-or-more").policy.read_only)
  end)
end)
