-- What the image specs share: the test registries (scripts/registry), repositories of this
-- run's own in them, and the clean-up of the images this run pulled, and of nothing else.
local helpers = require "helpers"

local M = {}

M.plain = "127.0.0.1:5000"
M.secure = "127.0.0.1:5443"
M.user = "dockerpty"
-- this run's repositories: dockerpty-spec-RUN/NAME, lowercase as a reference must be
M.prefix = "dockerpty-spec-" .. helpers.run_id:lower()

local function sh(cmd)
  local out, status = helpers.popen_status(cmd .. " 2>&1")
  return out, status
end

-- The registries answer, or the spec fails saying how to start them.
function M.check()
  local out, status = sh(("curl -fsS --max-time 5 -o /dev/null http://%s/v2/"):format(M.plain))
  if status ~= 0 then
    error(("the test registry at %s does not answer: %s (run scripts/registry, or make test)"):format(M.plain, out), 2)
  end
  out, status = sh(("scripts/registry auth"))
  if status ~= 0 then error("scripts/registry auth failed: " .. out, 2) end
  M.password = out:match("^[^:]+:(%S+)")
end

-- A repository of this run's own with a multi-megabyte layer of its own on top of busybox,
-- pushed from the engine and then gone from it: whatever an earlier pull or a left-over
-- container keeps, pulling it downloads that layer. Built with --no-cache, as an image left
-- by a run cut short would otherwise give the build its layer from the cache. Returns
-- REGISTRY/PREFIX/NAME:latest.
local function fresh_blob(registry, name)
  local ref = registry .. "/" .. M.prefix .. "/" .. name .. ":latest"
  local ctx = os.tmpname()
  os.remove(ctx)
  assert(os.execute("mkdir " .. ctx))
  local f = assert(io.open(ctx .. "/Dockerfile", "w"))
  f:write("FROM busybox:latest\nRUN head -c 8000000 /dev/urandom > /blob\n")
  f:close()
  local out, status = sh(("DOCKER_BUILDKIT=0 docker build -q --no-cache --label %s -t %s %s && docker push %s >/dev/null")
    :format(helpers.label, ref, ctx, ref))
  os.execute("rm -rf " .. ctx)
  sh("docker rmi " .. ref)
  assert(status == 0, out)
  return ref
end

-- A repository of this run's own holding SRC (dockerpty/busybox, dockerpty/blob): a name the
-- engine has never pulled. Returns the reference to pull, REGISTRY/PREFIX/NAME:latest. A
-- copy of dockerpty/blob to the plain registry gets a new layer of its own (fresh_blob).
function M.copy(registry, src, name)
  if src == "dockerpty/blob" and registry == M.plain then return fresh_blob(registry, name) end
  local dst = M.prefix .. "/" .. name .. ":latest"
  local out, status = sh(("scripts/registry copy %s %s:latest %s"):format(registry, src, dst))
  assert(status == 0, out)
  return registry .. "/" .. dst
end

-- Unlinks a layer from a repository of this run's: its manifest still there, its pull then
-- failing after HTTP 200.
function M.break_layer(ref)
  local repo = ref:match("^[^/]+/(.-):[^:/]+$")
  local manifest = assert(sh(("curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://%s/v2/%s/manifests/latest")
    :format(M.plain, repo)))
  local last
  for d in manifest:gmatch('"digest":%s*"(sha256:%x+)"') do last = d end
  local out, status = sh(("curl -fsS -X DELETE http://%s/v2/%s/blobs/%s"):format(M.plain, repo, last))
  assert(status == 0, out)
end

-- The images whose names hold this run's id, as RepoTags gives them.
function M.ours(c)
  local list, mine = assert(c:images { all = true }), {}
  for _, img in ipairs(list) do
    for _, tag in ipairs(img.RepoTags or {}) do
      if tag:find(helpers.run_id, 1, true) then mine[#mine + 1] = tag end
    end
  end
  return mine
end

function M.cleanup(c)
  for _, tag in ipairs(M.ours(c)) do c:remove_image(tag, { force = true }) end
end

return M
