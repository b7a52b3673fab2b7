-- The pull, images and rmi commands, and run of an image the engine lacks, against the real
-- engine and registries, in pseudo-terminals where the progress is drawn.
local helpers = require "helpers"
local images = require "images"

local function quote(s) return (s:gsub("%p", "%%%0")) end

describe("dockerpty pull, images, rmi #engine #images", function()
  local c

  setup(function()
    c = helpers.engine()
    images.check()
  end)

  teardown(function()
    helpers.cleanup(c)
    images.cleanup(c)
  end)

  it("pull without a terminal prints docker's plain lines, then the reference", function()
    images.cleanup(c)
    local ref = images.copy(images.plain, "dockerpty/blob", "plainpull")
    local out, err, status = helpers.dockerpty { "pull", ref }
    assert.equal(0, status, err)
    assert.equal("", err)
    local layer = out:match("\n(%x+): Pull complete\n")
    assert.truthy(layer, out)
    assert.truthy(out:find("^latest: Pulling from " .. quote(images.prefix) .. "/plainpull\n"), out)
    assert.truthy(out:find(layer .. ": Pulling fs layer\n", 1, true), out)
    assert.truthy(out:find(layer .. ": Download complete\n", 1, true), out)
    assert.is_nil(out:find("Downloading", 1, true)) -- no bars where there is no terminal
    assert.is_nil(out:find("\27", 1, true))
    assert.truthy(out:find("\nDigest: sha256:%x+\nStatus: Downloaded newer image for " .. quote(ref) .. "\n"
      .. quote(ref) .. "\n$"), out)
  end)

  it("pull on a terminal redraws each layer's line in place, with docker's bar", function()
    images.cleanup(c)
    local ref = images.copy(images.plain, "dockerpty/blob", "ttypull")
    local p = helpers.pty_run({ helpers.lua, "bin/dockerpty", "pull", ref }, { cols = 120 })
    local how, code = p:wait(60)
    assert.same({ "exit", 0 }, { how, code })
    local layer = p.out:match("(%x+): Pull complete")
    assert.truthy(layer, p.out)
    assert.truthy(p.out:find("\27[2K\r" .. layer .. ": Downloading [", 1, true), p.out)
    assert.truthy(p.out:find("%]%s+[%d.]+[kM]B/8%.003MB\r"), p.out)
    assert.truthy(p.out:find("\27%[%dA"), p.out)
    assert.truthy(p.out:find("\27%[%dB"), p.out)
    assert.truthy(p.out:find("Status: Downloaded newer image for " .. ref, 1, true))
    assert.truthy(p.out:find(quote(ref) .. "\r\n$"), p.out)
  end)

  it("pull -q prints the reference alone; Using default tag without a tag", function()
    local ref = images.copy(images.plain, "dockerpty/busybox", "quiet")
    local out, err, status = helpers.dockerpty { "pull", "-q", ref }
    assert.equal(0, status, err)
    assert.equal(ref .. "\n", out)
    out, err, status = helpers.dockerpty { "pull", (ref:gsub(":latest$", "")) }
    assert.equal(0, status, err)
    assert.truthy(out:find("^Using default tag: latest\n"), out)
    assert.truthy(out:find("Status: Image is up to date for " .. ref, 1, true), out)
  end)

  it("pull says a failure on one line with status 1: a missing tag, an error after HTTP 200, a bad name", function()
    local out, err, status = helpers.dockerpty { "pull", images.plain .. "/" .. images.prefix .. "/none:notag" }
    assert.equal(1, status)
    assert.equal("", out)
    assert.truthy(err:match("^dockerpty: manifest for [^\n]+ not found: manifest unknown[^\n]*\n$"), err)
    images.cleanup(c)
    local ref = images.copy(images.plain, "dockerpty/blob", "brokenpull")
    images.break_layer(ref)
    out, err, status = helpers.dockerpty { "pull", ref }
    assert.equal(1, status)
    assert.equal("dockerpty: unknown blob\n", err)
    assert.truthy(out:find("Pulling fs layer", 1, true), out)
    out, err, status = helpers.dockerpty { "pull", "127.0.0.1:5000/" .. images.prefix .. "/Busybox" }
    assert.equal(1, status)
    assert.equal("dockerpty: invalid reference format: repository name must be lowercase\n", err)
    assert.equal("", out)
  end)

  it("images lists with docker's columns, -q the IDs; rmi untags and deletes", function()
    local ref = images.copy(images.plain, "dockerpty/busybox", "listme")
    local id = assert(c:pull(ref))
    local short = id:gsub("^sha256:", ""):sub(1, 12)
    local out, err, status = helpers.dockerpty { "images" }
    assert.equal(0, status, err)
    assert.truthy(out:find("^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n"), out)
    local repo = ref:gsub(":latest$", "")
    assert.truthy(out:find("\n" .. quote(repo) .. " +latest +" .. short .. " +[^\n]+ ago +[%d.]+[kMG]?B\n"), out)
    out, err, status = helpers.dockerpty { "images", "-q" }
    assert.equal(0, status, err)
    assert.truthy(("\n" .. out):find("\n" .. short .. "\n", 1, true), out)
    assert.is_nil(out:find("REPOSITORY", 1, true))
    local all = helpers.dockerpty { "images", "-a", "-q" }
    assert.is_true(select(2, all:gsub("\n", "")) >= select(2, out:gsub("\n", "")))

    out, err, status = helpers.dockerpty { "rmi", ref, repo .. ":nosuchtag" }
    assert.equal(1, status)
    assert.truthy(out:find("^Untagged: " .. quote(ref) .. "\n"), out)
    assert.equal("dockerpty: No such image: " .. repo .. ":nosuchtag\n", err)
    assert.is_nil(c:inspect_image(ref))
  end)

  it("run pulls a missing image in a terminal: docker's notice, the progress, then the shell", function()
    images.cleanup(c)
    local ref = images.copy(images.plain, "dockerpty/blob", "runpull")
    local p = helpers.pty_run({ helpers.lua, "bin/dockerpty", "run", "-it", "--rm", "-l", helpers.label, ref, "sh" },
      { cols = 120 })
    p:expect("Unable to find image '" .. ref .. "' locally", 30, true)
    p:expect(": Downloading [", 30, true)
    p:expect("Status: Downloaded newer image for " .. ref, 60, true)
    p:expect("# ", 30, true)
    p:send("ls -l /blob; exit 7\r")
    p:expect("8000000", 10, true)
    local how, code = p:wait(20)
    assert.same({ "exit", 7 }, { how, code })
    assert.is_string(c:inspect_image(ref).Id)
  end)

  it("run --pull=never of a missing image is the engine's refusal, 125; always pulls first", function()
    local ref = images.copy(images.plain, "dockerpty/busybox", "never")
    local out, err, status = helpers.dockerpty { "run", "--rm", "--pull=never", "-l", helpers.label, ref, "true" }
    assert.equal(125, status)
    assert.equal("", out)
    assert.equal("dockerpty: No such image: " .. ref .. "\n", err)
    out, err, status = helpers.dockerpty { "run", "--rm", "--pull", "always", "-l", helpers.label, ref, "echo", "ran" }
    assert.equal(0, status, err)
    assert.equal("ran\n", out)
    assert.is_nil(err:find("Unable to find", 1, true))
    assert.truthy(err:find("Status: Downloaded newer image for " .. ref, 1, true), err)
    out, err, status = helpers.dockerpty { "run", "--rm", "--pull=always", "-l", helpers.label, ref, "echo", "again" }
    assert.equal(0, status, err)
    assert.equal("again\n", out)
    assert.truthy(err:find("Status: Image is up to date for " .. ref, 1, true), err)
    out, err, status = helpers.dockerpty { "run", "--pull=sometimes", ref, "true" }
    assert.equal(125, status)
    assert.equal("", out)
    assert.equal([[dockerpty: invalid pull option: 'sometimes': must be one of "always", "missing" or "never"]] .. "\n", err)
  end)

  it("run ends with 125 and the engine's message on one line when the pull fails", function()
    local ref = images.plain .. "/" .. images.prefix .. "/absent:latest"
    local out, err, status = helpers.dockerpty { "run", "--rm", "-l", helpers.label, ref, "true" }
    assert.equal(125, status)
    assert.equal("", out)
    local notice, last = err:match("^(Unable to find image '[^\n]+' locally)\n(dockerpty: [^\n]+)\n$")
    assert.equal("Unable to find image '" .. ref .. "' locally", notice, err)
    assert.truthy(last:find("manifest unknown", 1, true), err)
    assert.same({}, helpers.ours(c))
  end)
end)
