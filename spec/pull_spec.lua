-- client:pull against the real engine and the real registries of scripts/registry.
local helpers = require "helpers"
local images = require "images"
local dockerpty = require "dockerpty"

describe("client:pull #engine #images", function()
  local c

  setup(function()
    c = helpers.engine()
    images.check()
  end)

  teardown(function()
    images.cleanup(c)
  end)

  it("streams each message as it comes and returns the image's id", function()
    images.cleanup(c) -- the new layer leaves the engine with this run's images
    local ref = images.copy(images.plain, "dockerpty/blob", "blob")
    local seen, downloading = {}, {}
    local id, err = c:pull(ref, { on_progress = function(m)
      seen[#seen + 1] = m
      if m.status == "Downloading" and m.progressDetail and m.progressDetail.total then
        downloading[#downloading + 1] = m
      end
    end })
    assert.is_string(id, err)
    assert.equal(assert(c:inspect_image(ref)).Id, id)
    assert.equal("Pulling from " .. images.prefix .. "/blob", seen[1].status)
    assert.equal("latest", seen[1].id)
    -- the new 8 MB layer was downloaded, with its progress, its total in bytes
    assert.is_true(#downloading >= 1)
    assert.is_true(downloading[#downloading].progressDetail.total > 7000000)
    assert.truthy(downloading[1].progress:find("MB", 1, true))
    assert.truthy(seen[#seen - 1].status:match("^Digest: sha256:%x+$"))
    assert.equal("Status: Downloaded newer image for " .. ref, seen[#seen].status)
  end)

  it("says an image is up to date the second time", function()
    local ref = images.copy(images.plain, "dockerpty/busybox", "again")
    assert(c:pull(ref))
    local last
    assert(c:pull(ref, { on_progress = function(m) last = m.status end }))
    assert.equal("Status: Image is up to date for " .. ref, last)
  end)

  it("returns the engine's refusal of a tag the registry does not have", function()
    local id, err, code = c:pull(images.plain .. "/" .. images.prefix .. "/nothing:notag")
    assert.is_nil(id)
    assert.equal(404, code)
    assert.truthy(err:find("manifest unknown", 1, true), err)
    assert.is_nil(err:find("\n", 1, true))
  end)

  it("takes an errorDetail after HTTP 200 for the failure it is", function()
    images.cleanup(c)
    local ref = images.copy(images.plain, "dockerpty/blob", "broken")
    images.break_layer(ref)
    local messages = 0
    local id, err, code = c:pull(ref, { on_progress = function() messages = messages + 1 end })
    assert.is_nil(id)
    assert.equal("pull", code)
    assert.equal("unknown blob", err)
    assert.is_true(messages >= 2) -- the pull had begun: its messages came before the error
  end)

  it("pulls from the registry with TLS and basic auth, given credentials as a table", function()
    local ref = images.copy(images.secure, "dockerpty/busybox", "private")
    local id, err = c:pull(ref, { auth = {
      username = images.user, password = images.password, serveraddress = images.secure,
    } })
    assert.is_string(id, err)
    assert.equal(assert(c:inspect_image(ref)).Id, id)
  end)

  it("pulls with credentials already encoded as X-Registry-Auth", function()
    local ref = images.copy(images.secure, "dockerpty/busybox", "encoded")
    local image = require "dockerpty.image"
    local auth = image.base64url(dockerpty.json.encode {
      username = images.user, password = images.password, serveraddress = images.secure,
    })
    assert.is_string((c:pull(ref, { auth = auth })))
  end)

  it("returns the registry's refusal of a wrong password, the password nowhere in it", function()
    local ref = images.copy(images.secure, "dockerpty/busybox", "wrongpw")
    local id, err = c:pull(ref, { auth = {
      username = images.user, password = "not-" .. images.password, serveraddress = images.secure,
    } })
    assert.is_nil(id)
    assert.truthy(err:find("unauthorized", 1, true), err)
    assert.is_nil(err:find(images.password, 1, true))
    assert.is_nil(c:inspect_image(ref))
  end)

  it("refuses a reference docker would refuse, before asking the engine", function()
    local id, err, code = c:pull(images.plain .. "/" .. images.prefix .. "/Upper")
    assert.is_nil(id)
    assert.equal("reference", code)
    assert.equal("invalid reference format: repository name must be lowercase", err)
  end)

  it("refuses an auth value that is not base64, and raises on a wrong argument", function()
    local id, err, code = c:pull("127.0.0.1:5000/x", { auth = "abc\r\nX-Other: 1" })
    assert.is_nil(id)
    assert.equal("auth", code)
    assert.truthy(err:find("base64", 1, true))
    assert.has_error(function() c:pull(42) end, "bad argument #1 to 'pull' (string expected)")
    assert.has_error(function() c:pull("x", { on_progress = 1 }) end)
  end)

  it("lets on_progress's error through, the connection closed", function()
    local ref = images.copy(images.plain, "dockerpty/busybox", "raising")
    assert.has_error(function()
      c:pull(ref, { on_progress = function() error("stop here", 0) end })
    end, "stop here")
    assert.is_string(assert(c:ping()) and "ok")
  end)

  it("lists and removes what it pulled", function()
    local ref = images.copy(images.plain, "dockerpty/busybox", "listed")
    local id = assert(c:pull(ref))
    local found
    for _, img in ipairs(assert(c:images())) do
      if img.Id == id then
        for _, t in ipairs(img.RepoTags or {}) do found = found or t == ref end
      end
    end
    assert.is_true(found)
    local removed = assert(c:remove_image(ref))
    assert.equal(ref, removed[1].Untagged)
    local gone, err, code = c:inspect_image(ref)
    assert.is_nil(gone)
    assert.equal(404, code)
    assert.truthy(err:find("No such image", 1, true), err)
  end)
end)
