-- dockerpty build and rm against the real engine: docker's output and statuses, stdin as the
-- context or the Dockerfile, the errors a user can make, and the tutorial's build, run, rm.
local helpers = require "helpers"

local TAG = "dockerpty-spec-buildcli-" .. helpers.run_id

describe("dockerpty build, rm #engine #images", function()
  local c, dir

  setup(function()
    c = helpers.engine()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute(("mkdir -p %s/ctx/sub && echo data > %s/ctx/sub/f"):format(dir, dir)))
    local f = assert(io.open(dir .. "/ctx/Dockerfile", "w"))
    f:write("FROM busybox\nCOPY sub /sub\nRUN echo step-output\nCMD [\"cat\", \"/sub/f\"]\n")
    f:close()
  end)

  teardown(function()
    helpers.cleanup(c)
    for _, t in ipairs { "a", "b", "q", "stdin", "tar" } do c:remove_image(TAG .. ":" .. t, { force = true }) end
    os.execute("rm -rf " .. dir)
    helpers.cleanup_images(c)
  end)

  it("prints the builder's steps and docker's last lines, then the tutorial's run and rm", function()
    local out, err, status = helpers.dockerpty { "build", "-t", TAG .. ":a", "-t", TAG .. ":b",
      "--label", helpers.label, "--build-arg", "UNUSED=1", dir .. "/ctx" }
    assert.equal(0, status, err)
    assert.truthy(out:find("^Step 1/5 : FROM busybox\n"), out)
    assert.truthy(out:find("\nStep 3/5 : RUN echo step%-output\n.-\nstep%-output\n"), out)
    local short = out:match("\nSuccessfully built (%x+)\n")
    assert.truthy(short, out)
    local tail = "\nSuccessfully tagged " .. TAG .. ":a\nSuccessfully tagged " .. TAG .. ":b\n"
    assert.equal(tail, out:sub(-#tail))
    assert.equal("sha256:" .. short, assert(c:inspect_image(TAG .. ":b")).Id:sub(1, 19))

    local name = "dockerpty-spec-harpoon-" .. helpers.run_id
    out, err, status = helpers.dockerpty { "run", "--name", name, "-l", helpers.label, TAG .. ":a" }
    assert.equal(0, status, err)
    assert.equal("data\n", out)
    out, err, status = helpers.dockerpty { "rm", "-v", name, "no-such-container-" .. helpers.run_id }
    assert.equal(1, status)
    assert.equal(name .. "\n", out)
    assert.equal("dockerpty: No such container: no-such-container-" .. helpers.run_id .. "\n", err)
    assert.same({}, helpers.ours(c))
  end)

  it("rm -f removes a running container", function()
    local id = helpers.container(c, { Cmd = { "sleep", "60" } })
    assert(c:start(id))
    local _, err, status = helpers.dockerpty { "rm", id }
    assert.equal(1, status)
    assert.equal(("dockerpty: You cannot remove a running container %s. Stop the container before attempting"
      .. " removal or force remove\n"):format(id), err)
    local out
    out, err, status = helpers.dockerpty { "rm", "-f", id }
    assert.equal(0, status, err)
    assert.equal(id .. "\n", out)
  end)

  it("-q prints the image's ID alone", function()
    local out, err, status = helpers.dockerpty { "build", "-q", "-t", TAG .. ":q", dir .. "/ctx" }
    assert.equal(0, status, err)
    assert.equal(assert(c:inspect_image(TAG .. ":q")).Id .. "\n", out)
  end)

  it("ends a failing step with 1 and its message, leaving no container", function()
    local df = os.tmpname()
    local f = assert(io.open(df, "w"))
    f:write(("FROM busybox\nLABEL %s=1\nRUN echo failing; exit 7\n"):format(helpers.label))
    f:close()
    local out, err, status = helpers.dockerpty({ "build", "-f", "-", dir .. "/ctx" }, { stdin = df })
    os.remove(df)
    assert.equal(1, status)
    assert.truthy(out:find("\nfailing\n", 1, true), out)
    assert.equal("dockerpty: The command '/bin/sh -c echo failing; exit 7' returned a non-zero code: 7\n", err)
    assert.same({}, helpers.ours(c))
  end)

  it("takes a tar on stdin as the context, or a Dockerfile alone", function()
    local t = os.tmpname()
    assert(os.execute(("tar -C %s/ctx -cf %s ."):format(dir, t)))
    local out, err, status = helpers.dockerpty({ "build", "-q", "-t", TAG .. ":tar", "-" }, { stdin = t })
    assert.equal(0, status, err)
    assert.equal(assert(c:inspect_image(TAG .. ":tar")).Id .. "\n", out)
    local f = assert(io.open(t, "w"))
    f:write("FROM busybox\nCMD [\"echo\", \"from stdin\"]\n")
    f:close()
    out, err, status = helpers.dockerpty({ "build", "-t", TAG .. ":stdin", "-" }, { stdin = t })
    os.remove(t)
    assert.equal(0, status, err)
    assert.truthy(out:find("Step 2/2 : CMD [\"echo\", \"from stdin\"]", 1, true), out)
  end)

  it("says in one line what is wrong with the context or the Dockerfile", function()
    local cases = {
      { { "build", dir .. "/missing" }, "unable to prepare context: " .. dir .. "/missing: No such file or directory" },
      { { "build", dir .. "/ctx/Dockerfile" }, "unable to prepare context: context must be a directory: " .. dir .. "/ctx/Dockerfile" },
      { { "build", "-f", dir .. "/ctx/Dockerfile", dir .. "/ctx/sub" },
        "unable to prepare context: the Dockerfile (" .. dir .. "/ctx/Dockerfile) must be within the build context" },
      { { "build", "-f", dir .. "/ctx/Nope", dir .. "/ctx" },
        "unable to prepare context: Cannot locate specified Dockerfile: " .. dir .. "/ctx/Nope" },
      { { "build", "-f", "-", "-" }, "invalid argument: can't use stdin for both build context and dockerfile" },
    }
    for _, case in ipairs(cases) do
      local out, err, status = helpers.dockerpty(case[1])
      assert.equal(1, status, err)
      assert.equal("", out)
      assert.equal("dockerpty: " .. case[2] .. "\n", err)
    end
  end)
end)
