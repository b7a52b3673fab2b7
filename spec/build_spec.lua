-- client:build against the real engine: what arrives in the image is what is in the
-- directory (long names, links, modes, an empty directory, a large file), .dockerignore,
-- a failing step with no container left, a parse error, a Dockerfile given as text.
local helpers = require "helpers"
local core = require "dockerpty.core"
local tar = require "dockerpty.tar"

local TAG = "dockerpty-spec-build-" .. helpers.run_id

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir " .. d))
  return d
end

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function sh(cmd)
  local out, status = helpers.popen_status(cmd)
  assert.equal(0, status, out)
  return out
end

-- What a command prints in a new container of image (removed after).
local function run_in(c, image, cmd)
  local id = helpers.container(c, { Image = image, Cmd = { "sh", "-c", cmd } })
  assert(c:start(id))
  assert.equal(0, assert(c:wait(id)).StatusCode)
  local out = assert(c:logs(id))
  assert(c:remove_container(id))
  return out
end

-- The listing both sides make: path, type, mode, size, link target, md5 of a file.
local LIST = [[cd %s && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
  if [ -L "$p" ]; then echo "$p link $(readlink "$p")";
  elif [ -d "$p" ]; then echo "$p dir $(stat -c %%a "$p")";
  else echo "$p file $(stat -c '%%a %%s' "$p") $(md5sum < "$p" | cut -c1-32)"; fi; done]]

describe("client:build #engine #images", function()
  local c, dirs, n = nil, {}, 0

  local function tag()
    n = n + 1
    return TAG .. ":" .. n
  end

  setup(function()
    c = helpers.engine()
  end)

  teardown(function()
    helpers.cleanup(c)
    for i = 1, n do c:remove_image(TAG .. ":" .. i, { force = true }) end
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. d) end
    helpers.cleanup_images(c)
  end)

  local function context(files)
    local d = tmpdir()
    dirs[#dirs + 1] = d
    for name, data in pairs(files) do
      sh(("mkdir -p \"$(dirname %s)\""):format(helpers.shell_quote(d .. "/" .. name)))
      write(d .. "/" .. name, data)
    end
    return d
  end

  it("sends the tree as it is: long names, symlinks, modes, an empty directory, a large file", function()
    local long = ("l"):rep(80) .. "/" .. ("m"):rep(80) .. "/" .. ("n"):rep(120)
    local d = context {
      Dockerfile = "FROM busybox\nCOPY tree /tree\nRUN echo built > /built\n",
      ["tree/" .. long] = "deep\n",
      ["tree/run.sh"] = "#!/bin/sh\necho hi\n",
      ["tree/secret"] = "s\n",
    }
    sh(("cd %s/tree && mkdir -p empty/inner && chmod 750 run.sh && chmod 600 secret && chmod 700 empty"
      .. " && ln -s run.sh link && ln -s %s long-link && ln -s ../nowhere dangling"
      .. " && head -c 5000000 /dev/urandom > big && chmod 640 big"):format(d, ("t"):rep(130)))
    local messages = {}
    local id, err = c:build(d, { tag = tag(), on_output = function(m) messages[#messages + 1] = m end })
    assert.truthy(id, err)
    assert.truthy(id:match("^sha256:%x+$"), id)
    assert.equal(id, assert(c:inspect_image(TAG .. ":" .. n)).Id)
    local text = {}
    for _, m in ipairs(messages) do text[#text + 1] = m.stream or "" end
    text = table.concat(text)
    assert.truthy(text:find("Step 3/3 : RUN echo built > /built", 1, true), text)
    assert.truthy(text:find("Successfully built " .. id:sub(8, 19), 1, true), text)
    local want = sh(LIST:format(d .. "/tree"))
    local got = run_in(c, id, LIST:format("/tree") .. "; cat /built")
    assert.equal(want .. "built\n", got)
    assert.truthy(got:find("./" .. long .. " file 644 5 ", 1, true), got)
    assert.truthy(got:find("./run.sh file 750 ", 1, true), got)
    assert.truthy(got:find("./empty/inner dir 755\n", 1, true), got)
  end)

  it("leaves out what .dockerignore says, ** and ! exceptions included, and keeps the Dockerfile", function()
    local d = context {
      Dockerfile = "FROM busybox\nCOPY . /ctx\n",
      [".dockerignore"] = "# build files\n**/*.log\n!keep/important.log\nsecrets\n/Dockerfile\n*.tmp\n",
      ["a.log"] = "x", ["deep/er/b.log"] = "x", ["keep/important.log"] = "kept",
      ["keep/other.log"] = "x", ["secrets/key"] = "x", ["x.tmp"] = "x", ["deep/y.tmp"] = "kept",
      ["src/main.c"] = "int main;",
    }
    local id, err = c:build(d, { tag = tag() })
    assert.truthy(id, err)
    assert.equal("./.dockerignore\n./deep\n./deep/er\n./deep/y.tmp\n./keep\n./keep/important.log\n./src\n./src/main.c\n",
      run_in(c, id, "cd /ctx && find . -mindepth 1 | LC_ALL=C sort"))
  end)

  it("ends a failing step with its message, and leaves no container behind", function()
    local d = context {
      Dockerfile = ("FROM busybox\nLABEL %s=1\nRUN echo about to fail; exit 3\n"):format(helpers.label),
    }
    local out = {}
    local id, err, code = c:build(d, { tag = tag(), on_output = function(m) out[#out + 1] = m.stream end })
    assert.is_nil(id)
    assert.equal("build", code)
    assert.equal("The command '/bin/sh -c echo about to fail; exit 3' returned a non-zero code: 3", err)
    assert.truthy(table.concat(out):find("about to fail\n", 1, true))
    assert.same({}, helpers.ours(c))
  end)

  it("says what is wrong with a Dockerfile that does not parse", function()
    local d = context { Dockerfile = "FROM busybox\nFORM busybox\n" }
    local id, err = c:build(d, { tag = tag() })
    assert.is_nil(id)
    assert.truthy(err:find("unknown instruction: FORM", 1, true), err)
    assert.is_nil(err:find("\n", 1, true))
  end)

  it("takes the Dockerfile as text, and tar bytes as the context, with tags, labels and build args", function()
    local t1, t2 = tag(), tag()
    local bytes = tar.file({ name = "greeting" }, "hello from the tar\n") .. tar.TRAILER
    local id, err = c:build(bytes, {
      tag = { t1, t2 }, labels = { ["spec.kind"] = "text" }, buildargs = { WHO = "args" },
      dockerfile_text = "FROM busybox\nARG WHO\nCOPY greeting /g\nRUN echo \"$WHO\" > /who\nCMD cat /g\n",
    })
    assert.truthy(id, err)
    local info = assert(c:inspect_image(t2))
    assert.equal(id, info.Id)
    assert.equal("text", info.Config.Labels["spec.kind"])
    assert.equal("hello from the tar\nargs\n", run_in(c, id, "cat /g /who"))
    -- a directory with its own .dockerignore: the Dockerfile given as text is no file in the image
    local d = context { ["x"] = "x\n", [".dockerignore"] = "y\n", ["y"] = "y\n" }
    id, err = c:build(d, { tag = tag(), dockerfile_text = "FROM busybox\nCOPY . /ctx\n" })
    assert.truthy(id, err)
    assert.equal("./.dockerignore\n./x\n", run_in(c, id, "cd /ctx && find . -mindepth 1 | LC_ALL=C sort"))
  end)

  it("sends a file's other names as hard links to the first, one inode in the image, and FIFOs and devices", function()
    local d = context {
      Dockerfile = "FROM busybox\nCOPY . /ctx\n",
      ["data"] = ("linked\n"):rep(20000),
      ["solo"] = "one name\n",
    }
    sh(("cd %s && mkdir sub && ln data sub/again && ln data zzz && mkfifo -m 640 pipe"
      .. " && mknod -m 600 null c 1 3"):format(d))
    local id, err = c:build(d, { tag = tag() })
    assert.truthy(id, err)
    local got = run_in(c, id, "cd /ctx && stat -c '%n %F %h %a' data sub/again zzz solo pipe null"
      .. " && [ \"$(stat -c %i data)\" = \"$(stat -c %i sub/again)\" ] && [ \"$(stat -c %i data)\" = \"$(stat -c %i zzz)\" ]"
      .. " && echo one inode && stat -c '%t,%T' null && md5sum < sub/again")
    local md5 = sh(("md5sum < %s/data"):format(d))
    assert.equal("data regular file 3 644\nsub/again regular file 3 644\nzzz regular file 3 644\n"
      .. "solo regular file 1 644\npipe fifo 1 640\nnull character special file 1 600\none inode\n1,3\n" .. md5, got)
  end)

  it("ends with one line naming a file that shrinks or grows while it is sent, and leaves no image", function()
    for _, change in ipairs { { "shrank", "head -c 1000 /dev/zero" }, { "grew", "head -c 140000 /dev/zero" } } do
      local d = context { Dockerfile = "FROM busybox\nCOPY . /ctx\n", ["moving"] = ("m"):rep(100000) }
      local next_chunk = assert(require("dockerpty.build").directory_context(d, {}))
      local function chunks()
        local chunk, cerr = next_chunk()
        if type(chunk) == "userdata" and tostring(chunk):find("/moving", 1, true) then
          sh(("%s > %s/moving"):format(change[2], d)) -- after its header was made, before its bytes go
        end
        return chunk, cerr
      end
      local t = tag()
      local id, err, code = c:build(chunks, { tag = t })
      assert.is_nil(id)
      assert.equal("context", code)
      assert.truthy(err:find("^error checking context: " .. d:gsub("%p", "%%%0") .. "/moving: the file " .. change[1]
        .. " while it was sent"), err)
      assert.is_nil(err:find("\n", 1, true))
      assert.is_nil(c:inspect_image(t))
      assert.same({}, helpers.ours(c))
    end
  end)

  it("refuses a context that is not there, or a Dockerfile outside it, before sending anything", function()
    local d = context { Dockerfile = "FROM busybox\n" }
    assert.same({ nil, "unable to prepare context: /nonexistent/ctx: No such file or directory", "context" },
      { c:build("/nonexistent/ctx") })
    assert.same({ nil, "unable to prepare context: the Dockerfile (../Dockerfile) must be within the build context",
      "context" }, { c:build(d, { dockerfile = "../Dockerfile" }) })
    assert.same({ nil, "unable to prepare context: Cannot locate specified Dockerfile: Other", "context" },
      { c:build(d, { dockerfile = "Other" }) })
    assert.same({ nil, "unable to prepare context: context must be a directory: " .. d .. "/Dockerfile", "context" },
      { c:build(d .. "/Dockerfile") })
    assert.is_nil(core.lstat(d .. "/nothing-made"))
  end)
end)
