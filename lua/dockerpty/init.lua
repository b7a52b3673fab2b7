-- dockerpty: a container's terminal inside a Lua program, over the Docker Engine API.
local core = require "dockerpty.core"
local client = require "dockerpty.client"
local select_ = require "dockerpty.select"
-- adds pull, images, inspect_image and remove_image to the client
require "dockerpty.image"
-- build's module (the tar writer, .dockerignore) loads on the first build, and its
-- Client:build takes this one's place
function client.Client:build(...)
  require "dockerpty.build"
  return self:build(...)
end
-- adds login to the client; credentials.get, registry_auth, registry_config as docker keeps them
local credentials = require "dockerpty.credentials"

local M = {
  _VERSION = core._VERSION,
  -- JSON null, as the engine's answers carry it and as bodies may send it.
  null = core.null,
  json = { encode = core.json_encode, decode = core.json_decode },
  MIN_API_VERSION = client.MIN_API_VERSION,
  MAX_API_VERSION = client.MAX_API_VERSION,
}

-- Marks t (or a new table) as a JSON array, so that even an empty one encodes as [].
function M.array(t)
  return setmetatable(t or {}, core.array_mt)
end

M.client = client.new
M.credentials = credentials

-- reference.parse(s) -> {domain =, path =, tag =, digest =} | nil, message: docker's reading.
M.reference = require "dockerpty.reference"
-- progress.new(write, {terminal =, width =}):add(message): docker's display of a pull.
M.progress = require "dockerpty.progress"

-- demux(bytes) -> {stdout =, stderr =, error =} | nil, message: a whole multiplexed stream.
function M.demux(bytes)
  local frames, err = core.demux():feed(bytes)
  if not frames then return nil, err end
  local parts = { {}, {}, {} }
  for _, f in ipairs(frames) do
    local p = parts[f[1]]
    if p then p[#p + 1] = f[2] end
  end
  return { stdout = table.concat(parts[1]), stderr = table.concat(parts[2]), error = table.concat(parts[3]) }
end

-- demuxer() -> d; d:feed(bytes) -> {{type, bytes}, ...}: 1 stdout, 2 stderr, 3 engine error.
M.demuxer = core.demux
-- The session module (terminal, filter, recordings, hangup) loads when a session starts, so
-- that pull, ps or images never pay for it.
local function session() return require "dockerpty.session" end
function M.start(...) return session().start(...) end
function M.start_created(...) return session().start_created(...) end
function M.exec_command(...) return session().exec_command(...) end
function M.start_exec(...) return session().start_exec(...) end
setmetatable(M, {
  __index = function(_, k)
    if k == "DEFAULT_DETACH_KEYS" then return session().DEFAULT_DETACH_KEYS end
  end,
})

-- Finding containers: candidates by pattern, label, status, image or fuzzy text; a name,
-- ID or prefix to a full ID; the terminal picker.
M.select = select_.candidates
M.resolve = select_.resolve
M.pick = select_.pick

-- Sessions a host loop or a script drives; their module loads on first use, so the
-- command line never pays for it.
function M.open(...) return require("dockerpty.embed").open(...) end
function M.together(...) return require("dockerpty.embed").together(...) end
function M.open_all(...) return require("dockerpty.embed").open_all(...) end
function M.close_all(...) return require("dockerpty.embed").close_all(...) end
function M.connect(...) return require("dockerpty.remote").connect(...) end

return M
