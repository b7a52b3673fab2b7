-- .dockerignore as docker reads it: the cases docker documents and moby's own tables, and
-- random patterns against moby's algorithm written again over Python's re.
local dockerignore = require "dockerpty.dockerignore"
local json = require("dockerpty").json

local function excluded(patterns, path)
  return assert(dockerignore.new(patterns)):matches(path)
end

describe("dockerignore.read", function()
  it("drops comments and blank lines, trims, cleans, and takes leading / and ./ off", function()
    local text = "\239\187\191# a comment\n  *.md  \n\n/abs/path\n./rel/x/\n! ./keep/../kept\n\tfoo/**/\r\n #not a comment\n!\n"
    assert.same({ "*.md", "abs/path", "rel/x", "!kept", "foo/**", "#not a comment", "!" },
      dockerignore.read(text))
  end)

  it("keeps an empty file empty", function()
    assert.same({}, dockerignore.read(""))
  end)
end)

describe("dockerignore matcher", function()
  -- pattern(s), path, left out
  local cases = {
    -- docker's documentation
    { "*/temp*", "somedir/temporary.txt", true },
    { "*/temp*", "somedir/temp", true },
    { "*/temp*", "temp", false },
    { "*/*/temp*", "a/b/temp.txt", true },
    { "*/*/temp*", "a/temp.txt", false },
    { "temp?", "tempa", true },
    { "temp?", "temp", false },
    { "temp?", "tempab", false },
    { "**/*.go", "main.go", true },
    { "**/*.go", "a/b/c.go", true },
    { "**/*.go", "a/b/c.got", false },
    { { "*.md", "!README.md" }, "README.md", false },
    { { "*.md", "!README.md" }, "CHANGES.md", true },
    { { "*.md", "!README*.md", "README-secret.md" }, "README-secret.md", true },
    { { "*.md", "!README*.md", "README-secret.md" }, "README-x.md", false },
    { { "*.md", "README-secret.md", "!README*.md" }, "README-secret.md", false },
    { "foo", "foo/bar/baz", true },
    { "foo/bar", "foo", false },
    { "*.md", "docs/x.md", false },
    -- moby's patternmatcher tables
    { "**", "file", true },
    { "**", "dir/file", true },
    { "**/**", "dir/file", true },
    { "dir/**", "dir/file", true },
    { "dir/**", "dir/dir2/file", true },
    { "**/dir", "dir", true },
    { "**/dir", "dir/file", true },
    { "**/dir2/*", "dir/dir2/file", true },
    { "**/dir2/**", "dir/dir2/dir3/file", true },
    { "**file", "file", true },
    { "**file", "dir/file", true },
    { "**/file", "dir/dir/file", true },
    { "**/file*", "dir/dir/file.txt", true },
    { "**/file*txt", "dir/dir/file.txt", true },
    { "**/file*.txt*", "dir/dir/file.txt", true },
    { "**/**/*.txt", "dir/dir/file.txt", true },
    { "**/**/*.txt2", "dir/dir/file.txt", false },
    { "**/*.txt", "file.txt", true },
    { "**/**/*.txt", "file.txt", true },
    { "a**/*.txt", "a/file.txt", true },
    { "a**/*.txt", "a/dir/dir/file.txt", true },
    { "a/*.txt", "a/dir/file.txt", false },
    { "a/*.txt", "a/file.txt", true },
    { "a/*.txt**", "a/file.txt", true },
    { "a[b-d]e", "ae", false },
    { "a[b-d]e", "ace", true },
    { "a[b-d]e", "aae", false },
    { "a[^b-d]e", "aze", true },
    { ".*", ".foo", true },
    { ".*", "foo", false },
    { "abc.def", "abcdef", false },
    { "abc.def", "abc.def", true },
    { "abc?def", "abcZdef", true },
    { "abc?def", "abcdef", false },
    { "**/foo/bar", "foo/bar", true },
    { "**/foo/bar", "dir/dir2/foo/bar", true },
    { "abc/**", "abc", false },
    { "abc/**", "abc/def/ghi", true },
    { "**/.foo", ".foo", true },
    { "**/.foo", "bar.foo", false },
    { "a(b)c/def", "a(b)c/def", true },
    { "a.|)$(}+{bc", "a.|)$(}+{bc", true },
    { "dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true },
    { "a\\*b*", "a*bc", true }, -- an escaped "*" is a "*"
    { "a\\*b*", "axbc", false },
    { "?", "é", true }, -- one character, not one byte
    { "caf[é]", "café", true },
  }
  for _, c in ipairs(cases) do
    local pats = type(c[1]) == "table" and c[1] or { c[1] }
    it(("%s %s %s"):format(table.concat(pats, ","), c[3] and "leaves out" or "keeps", c[2]), function()
      assert.equal(c[3], excluded(pats, c[2]))
    end)
  end

  it("refuses what docker refuses", function()
    assert.same({ nil, 'illegal exclusion pattern: "!"' }, { dockerignore.new { "!" } })
    assert.same({ nil, "syntax error in pattern" }, { dockerignore.new { "a[b" } })
    assert.same({ nil, "syntax error in pattern" }, { dockerignore.new { "a\\" } })
    assert.same({ nil, "syntax error in pattern" }, { dockerignore.new { "[]" } })
  end)

  it("walks into an excluded directory only when an exception names something in it", function()
    local m = assert(dockerignore.new { "docs", "!docs/keep.md", "cache" })
    local f = m:filter()
    assert.equal("descend", f("docs", { type = "directory" }))
    assert.is_false(f("cache", { type = "directory" }))
    assert.is_true(f("docs/keep.md", { type = "file" }))
    assert.is_false(f("docs/other.md", { type = "file" }))
    assert.is_true(f("src", { type = "directory" }))
  end)

  it("keeps the Dockerfile and .dockerignore whatever the patterns say", function()
    assert.same({ "*", "!.dockerignore", "!Dockerfile" }, dockerignore.keep_build_files({ "*" }, "Dockerfile"))
    assert.same({ "*.txt" }, dockerignore.keep_build_files({ "*.txt" }, "Dockerfile"))
    assert.same({ "*", "!.dockerignore" }, dockerignore.keep_build_files({ "*" }, nil))
  end)
end)

describe("dockerignore against moby's algorithm", function()
  local PIECES = { "a", "b", "c", "/", "*", "**", "?", "[ab]", "[^a]", ".", "a/", "**/", "[a-c]" }
  local NAMES = { "a", "b", "c", "ab", "ba", "a.b", ".a", "abc", "cc" }

  local function random_pattern(rng)
    local parts = {}
    for i = 1, rng(1, 5) do parts[i] = PIECES[rng(1, #PIECES)] end
    local p = table.concat(parts):gsub("^/+", "")
    if p == "" then p = "a" end
    if rng(1, 4) == 1 then p = "!" .. p end
    return p
  end

  local function random_path(rng)
    local parts = {}
    for i = 1, rng(1, 4) do parts[i] = NAMES[rng(1, #NAMES)] end
    return table.concat(parts, "/")
  end

  it("agrees on 3000 random sets of patterns and paths", function()
    local seed = tonumber(os.getenv("DOCKERIGNORE_SEED") or "") or os.time()
    math.randomseed(seed)
    local rng = math.random
    local cases = {}
    for i = 1, 3000 do
      local pats = {}
      for k = 1, rng(1, 3) do pats[k] = random_pattern(rng) end
      if pats[1]:sub(1, 1) == "!" then pats[1] = pats[1]:sub(2) end
      cases[i] = { pats, random_path(rng) }
    end
    local input = os.tmpname()
    local f = assert(io.open(input, "w"))
    f:write(json.encode(cases))
    f:close()
    local p = assert(io.popen("python3 spec/support/patternmatcher.py < " .. input))
    local want = p:read("*a")
    p:close()
    os.remove(input)
    local i, checked = 0, 0
    for line in want:gmatch("[^\n]+") do
      i = i + 1
      local c = cases[i]
      local m = dockerignore.new(c[1])
      if m then
        checked = checked + 1
        assert.equal(line == "1", m:matches(c[2]),
          ("seed %d: %s against %s"):format(seed, table.concat(c[1], " "), c[2]))
      end
    end
    assert.equal(#cases, i)
    assert.is_true(checked > 2500, "only " .. checked .. " cases compiled")
  end)
end)
