-- The tar a build context is sent as, read back by Debian's tar: names, links, modes, times
-- and contents as they are in the tree; and the filesystem calls that walk it.
local core = require "dockerpty.core"
local tar = require "dockerpty.tar"

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  local ok = p:close()
  return out, ok
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir " .. d))
  return d
end

local function write(path, data, mode)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  if mode then assert(os.execute(("chmod %o '%s'"):format(mode, path))) end
end

-- Writes the archive of dir to path; returns the largest chunk handed out.
local function archive(dir, path, opts)
  local next_chunk = tar.directory(dir, opts)
  local f, max = assert(io.open(path, "wb")), 0
  while true do
    local chunk, err = next_chunk()
    if not chunk then
      assert(not err, err)
      break
    end
    max = math.max(max, #chunk)
    f:write(chunk)
  end
  f:close()
  return max
end

describe("fs #memcheck", function()
  it("lstat says what a path is, without following a link", function()
    local d = tmpdir()
    write(d .. "/f", "abc", 416)
    assert(os.execute(("ln -s f '%s/l'"):format(d)))
    local st = assert(core.lstat(d .. "/f"))
    assert.same({ "file", 416, 3 }, { st.type, st.mode, st.size })
    assert.equal("symlink", core.lstat(d .. "/l").type)
    assert.equal("directory", core.lstat(d).type)
    assert.equal("f", core.readlink(d .. "/l"))
    assert.same({ "f", "l" }, core.dir(d))
    os.execute("rm -rf " .. d)
  end)

  it("fails with the path and errno's words", function()
    local r, err, code = core.lstat("/nonexistent/x")
    assert.same({ nil, "/nonexistent/x: No such file or directory", 2 }, { r, err, code })
    r, err = core.dir("/etc/hostname")
    assert.is_nil(r)
    assert.equal("/etc/hostname: Not a directory", err)
    r, err = core.readlink("/etc/hostname")
    assert.is_nil(r)
    assert.equal("/etc/hostname: Invalid argument", err)
  end)
end)

describe("tar #memcheck", function()
  it("writes a tree that tar lists and extracts as it is", function()
    local d, out = tmpdir(), tmpdir()
    local long_dir = ("d"):rep(70) .. "/" .. ("e"):rep(70)
    assert(os.execute(("mkdir -p '%s/%s' '%s/empty'"):format(d, long_dir, d)))
    local long_file = long_dir .. "/" .. ("f"):rep(90)
    write(d .. "/" .. long_file, "deep\n", 384)
    write(d .. "/café", "é\n")
    write(d .. "/run.sh", "#!/bin/sh\n", 2541) -- 04755: setuid
    local big = {}
    for i = 1, 40000 do big[i] = ("%07d\n"):format(i * 7919 % 1000003) end
    write(d .. "/big", table.concat(big):rep(10))
    assert(os.execute(("ln -s '%s' '%s/long-link'"):format(("x"):rep(150), d)))
    assert(os.execute(("ln -s run.sh '%s/link'"):format(d)))
    assert(os.execute(("touch -h -d @1000000000 '%s/link' '%s/café'"):format(d, d)))
    local max = archive(d, out .. "/a.tar")
    assert.is_true(max <= tar.CHUNK + 3 * tar.BLOCK, "a chunk of " .. max)

    local list = sh("tar -tvf " .. out .. "/a.tar")
    assert.truthy(list:find("%-rwsr%-xr%-x 0/0 +10 [^\n]* run.sh\n"), list)
    assert.truthy(list:find("lrwxrwxrwx 0/0 +0 2001%-09%-09 [^\n]* link %-> run.sh\n"), list)
    assert.truthy(list:find(" long%-link %-> " .. ("x"):rep(150) .. "\n"), list)
    assert.truthy(list:find(" " .. long_file .. "\n", 1, true), list)
    assert.truthy(list:find("drwxr%-xr%-x 0/0 +0 [^\n]* empty/\n"), list)
    assert.truthy(list:find(" café\n", 1, true), list)

    assert(os.execute(("mkdir %s/x && tar -C %s/x -xf %s/a.tar"):format(out, out, out)))
    local diff, same = sh(("diff -r --no-dereference '%s' '%s/x'"):format(d, out))
    assert.is_true(same, diff)
    for _, rel in ipairs { long_file, "run.sh", "big", "café", "link", "long-link", "empty", long_dir } do
      local a, b = assert(core.lstat(d .. "/" .. rel)), assert(core.lstat(out .. "/x/" .. rel))
      assert.same({ a.type, a.mode, a.size }, { b.type, b.mode, b.size }, rel)
      if a.type ~= "directory" then assert.equal(a.mtime, b.mtime, rel) end
    end
    os.execute("rm -rf " .. d .. " " .. out)
  end)

  it("leaves out what the filter refuses, and walks into a directory it only descends", function()
    local d, out = tmpdir(), tmpdir()
    assert(os.execute(("mkdir -p %s/skip/in %s/through/in"):format(d, d)))
    write(d .. "/skip/in/f", "x")
    write(d .. "/through/in/f", "y")
    write(d .. "/through/g", "z")
    archive(d, out .. "/a.tar", {
      filter = function(rel)
        if rel == "skip" then return false end
        if rel == "through" then return "descend" end
        return rel ~= "through/g"
      end,
      extra = { { name = ".extra", data = "added\n" } },
    })
    assert.equal("through/in/\nthrough/in/f\n.extra\n", (sh("tar -tf " .. out .. "/a.tar")))
    os.execute("rm -rf " .. d .. " " .. out)
  end)

  it("says ustar cannot hold it in a pax header: a size or uid too large, a time before 1970", function()
    local h = tar.header { name = "f", type = "file", size = 8 ^ 11, mtime = -1, uid = 8 ^ 7, gid = 1, mode = 420 }
    assert.truthy(h:find("size=8589934592\n", 1, true))
    assert.truthy(h:find("mtime=-1\n", 1, true))
    assert.truthy(h:find("uid=2097152\n", 1, true))
    assert.falsy(h:find("gid=", 1, true))
    assert.equal(3 * tar.BLOCK, #h)
    assert.equal(tar.BLOCK, #tar.header { name = "short", type = "directory", mode = 493 })
  end)

  it("sends a file's other names as hard links to the first name, FIFOs and devices as their types", function()
    local d, out = tmpdir(), tmpdir()
    write(d .. "/a", "shared\n", 416)
    assert(os.execute(("cd %s && mkdir sub && ln a sub/b && ln a c && ln -s a s && ln s s2 && mkfifo -m 600 p"
      .. " && mknod -m 640 n c 1 3 && mknod b b 7 200"):format(d)))
    archive(d, out .. "/a.tar")
    local list = sh("tar -tvf " .. out .. "/a.tar")
    assert.truthy(list:find("\n?%-rw%-r%-%-%-%-%- 0/0 +7 [^\n]* a\n"), list)
    assert.truthy(list:find("hrw%-r%-%-%-%-%- 0/0 +0 [^\n]* c link to a\n"), list)
    assert.truthy(list:find("hrw%-r%-%-%-%-%- 0/0 +0 [^\n]* sub/b link to a\n"), list)
    assert.truthy(list:find("lrwxrwxrwx 0/0 +0 [^\n]* s %-> a\n"), list)
    assert.truthy(list:find("hrwxrwxrwx 0/0 +0 [^\n]* s2 link to s\n"), list)
    assert.truthy(list:find("prw%-%-%-%-%-%-%- 0/0 +0 [^\n]* p\n"), list)
    assert.truthy(list:find("crw%-r%-%-%-%-%- 0/0 +1,3 [^\n]* n\n"), list)
    assert.truthy(list:find("brw%-r%-%-r%-%- 0/0 +7,200 [^\n]* b\n"), list)
    assert(os.execute(("mkdir %s/x && tar -C %s/x -xf %s/a.tar"):format(out, out, out)))
    local inodes = sh(("cd %s/x && stat -c '%%i %%h %%F' a c sub/b p n"):format(out))
    local first = inodes:match("^(%d+) ")
    assert.equal(("%s 3 regular file\n"):rep(3):format(first, first, first) .. inodes:match("\n[^\n]*\n[^\n]*\n$"):sub(2),
      inodes)
    assert.truthy(inodes:find("fifo\n[%d]+ 1 character special file\n$"), inodes)
    -- the first name archived is the one the others link to, whatever the filter left out
    archive(d, out .. "/b.tar", { filter = function(rel) return rel ~= "a" end })
    list = sh("tar -tvf " .. out .. "/b.tar")
    assert.truthy(list:find(" +7 [^\n]* c\n"), list)
    assert.truthy(list:find(" sub/b link to c\n", 1, true), list)
    os.execute("rm -rf " .. d .. " " .. out)
  end)

  it("ends with an error naming a file that shrinks or grows while it is read, never a tar whose sizes lie", function()
    for _, case in ipairs { { 5000, "shrank while it was sent: 3000 bytes of the 5000 it had" },
      { 200000, "grew while it was sent: more than the 200000 bytes it had" } } do
      local d = tmpdir()
      write(d .. "/f", ("x"):rep(case[1]))
      local next_chunk = tar.directory(d, {
        filter = function(rel) -- listed by now: its size is in the header to come
          if rel == "f" then write(d .. "/f", ("y"):rep(case[1] == 5000 and 3000 or 300000)) end
          return true
        end,
      })
      local chunk, err
      repeat chunk, err = next_chunk() until not chunk
      assert.equal(d .. "/f: the file " .. case[2], err)
      os.execute("rm -rf " .. d)
    end
    -- the same in the body a build sends, and a body is closed once, whoever closes it
    local d = tmpdir()
    write(d .. "/f", "abc")
    local body = assert(core.tar_body(d .. "/f", 3, "head"))
    assert.equal("headabc" .. ("\0"):rep(509), body:read())
    assert.is_nil(body:read())
    body:close()
    body:close()
    assert.has_error(function() body:read() end, "tar body of " .. d .. "/f is closed")
    body = assert(core.tar_body(d .. "/f", 10))
    assert.same({ nil, d .. "/f: the file shrank while it was sent: 3 bytes of the 10 it had" }, { body:read() })
    body:close()
    assert.same({ nil, d .. "/nothing: No such file or directory", 2 }, { core.tar_body(d .. "/nothing", 1) })
    assert(os.execute(("mkfifo %s/p"):format(d)))
    assert.same({ nil, d .. "/p: no longer a regular file", 22 }, { core.tar_body(d .. "/p", 1) })
    os.execute("rm -rf " .. d)
  end)

  it("ends with an error naming a tree that is not there", function()
    local next_chunk = tar.directory("/nonexistent/ctx")
    assert.same({ nil, "/nonexistent/ctx: No such file or directory" }, { next_chunk() })
  end)
end)
