-- The image commands, as the docker CLI has them: pull with its progress, images, rmi; and
-- the pull that run makes of an image it does not have.
local sel = require "dockerpty.select"
local base = require "dockerpty.cli.base"
local credentials = require "dockerpty.credentials"
local progress = require "dockerpty.progress"
local reference = require "dockerpty.reference"

local exit_with, fail = base.exit_with, base.fail

local M = {}

-- The X-Registry-Auth a pull of ref sends: what config.json or its credential helper keeps
-- for ref's registry | false for none | nil, message. A config.json that cannot be read was
-- warned about already and is passed over, as docker does.
function M.registry_auth(ref, env)
  local doc = base.load_config(env.getenv)
  if not doc then return false end
  return credentials.registry_auth(ref, { getenv = env.getenv, config = doc })
end

-- Pulls r (a parsed reference) with its progress drawn on file; returns the image id or
-- nil, message, code.
local function pull_shown(client, r, opts, env, file)
  local display = file and progress.for_file(file)
  local ref = reference.string(r)
  local auth, aerr = M.registry_auth(r, env)
  if auth == nil then return nil, aerr, "credentials" end
  return client:pull(ref, {
    platform = opts.platform, auth = auth or nil,
    on_progress = display and function(m) display:add(m) end or nil,
  })
end

M.pull = {
  usage = "dockerpty pull [OPTIONS] NAME[:TAG|@DIGEST]",
  summary = "Download an image from a registry, with docker's progress",
  interspersed = true,
  min_args = 1,
  max_args = 1,
  flags = {
    { short = "q", long = "quiet", kind = "bool", help = "Suppress verbose output" },
    { long = "platform", kind = "string", help = "Set platform if server is multi-platform capable (os[/arch[/variant]])" },
    base.HELP,
  },
}

function M.pull.handler(client, opts, args, env)
  local r, err = reference.parse(args[1])
  if not r then exit_with(1, err) end
  if not (r.tag or r.digest) and not opts.quiet then
    io.stdout:write("Using default tag: ", reference.DEFAULT_TAG, "\n")
  end
  r = reference.with_default_tag(r)
  local id, perr, code = pull_shown(client, r, opts, env, not opts.quiet and io.stdout)
  if not id then fail(perr, code, 1) end
  io.stdout:write(sel.printable(reference.string(r)), "\n")
  return 0
end

-- run's pull: the image named, with docker's notice first unless always; the progress on
-- stderr, as docker run draws it. A failure ends run with 125 and the engine's message.
function M.pull_for_run(client, image, opts, env, always)
  local r, err = reference.parse(image)
  if not r then exit_with(base.FAIL, err) end
  r = reference.with_default_tag(r)
  if not always then
    io.stderr:write(("Unable to find image '%s' locally\n"):format(sel.printable(reference.familiar_string(r))))
    io.stderr:flush()
  end
  local id, perr, code = pull_shown(client, r, opts, env, io.stderr)
  if not id then fail(perr, code) end
  return id
end

-- Columns padded as docker's tabwriter pads them: at least 10 wide, 3 spaces between.
local function columns(rows)
  local widths, out = {}, {}
  for _, row in ipairs(rows) do
    for i = 1, #row - 1 do widths[i] = math.max(widths[i] or 0, #row[i] + 3, 10) end
  end
  for _, row in ipairs(rows) do
    local line = {}
    for i, cell in ipairs(row) do
      line[i] = i < #row and cell .. (" "):rep(widths[i] - #cell) or cell
    end
    out[#out + 1] = table.concat(line)
  end
  return table.concat(out, "\n") .. "\n"
end

local function short_id(id)
  return (tostring(id or ""):gsub("^sha256:", ""):sub(1, 12))
end

-- Each image's rows as docker lists them: one per tag, <none> where there is none.
local function image_rows(img)
  local rows, tags = {}, {}
  for _, t in ipairs(type(img.RepoTags) == "table" and img.RepoTags or {}) do
    if t ~= "<none>:<none>" then tags[#tags + 1] = t end
  end
  if #tags == 0 then
    local digest = type(img.RepoDigests) == "table" and img.RepoDigests[1]
    local repo = digest and tostring(digest):match("^(.*)@") or "<none>"
    return { { repo, "<none>" } }
  end
  for _, t in ipairs(tags) do
    local repo, tag = tostring(t):match("^(.*):([^:/]*)$")
    rows[#rows + 1] = { repo or t, tag or "<none>" }
  end
  return rows
end

M.images = {
  usage = "dockerpty images [OPTIONS]",
  summary = "List images",
  interspersed = true,
  max_args = 0,
  flags = {
    { short = "a", long = "all", kind = "bool", help = "Show all images (default hides intermediate images)" },
    { short = "q", long = "quiet", kind = "bool", help = "Only show image IDs" },
    base.HELP,
  },
}

function M.images.handler(client, opts)
  local list, err, code = client:images { all = opts.all }
  if not list then fail(err, code) end
  local now = os.time()
  local rows = { { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" } }
  for _, img in ipairs(list) do
    for _, rt in ipairs(image_rows(img)) do
      if opts.quiet then
        io.stdout:write(sel.printable(short_id(img.Id)), "\n")
      else
        local created = tonumber(img.Created) or now
        rows[#rows + 1] = {
          sel.printable(rt[1]), sel.printable(rt[2]), sel.printable(short_id(img.Id)),
          require("dockerpty.cli.ps").human_duration(math.max(0, now - created)) .. " ago",
          progress.human_size(tonumber(img.Size) or 0, 3),
        }
      end
    end
  end
  if not opts.quiet then io.stdout:write(columns(rows)) end
  return 0
end

M.rmi = {
  usage = "dockerpty rmi [OPTIONS] IMAGE [IMAGE...]",
  summary = "Remove one or more images",
  interspersed = true,
  min_args = 1,
  flags = {
    { short = "f", long = "force", kind = "bool", help = "Force removal of the image" },
    { long = "no-prune", kind = "bool", help = "Do not delete untagged parents" },
    base.HELP,
  },
}

-- As docker: what each removal untagged and deleted, a failure on a line of its own, 1 if any.
function M.rmi.handler(client, opts, args)
  local status = 0
  for _, ref in ipairs(args) do
    local done, err, code
    if ref == "" then
      err = "invalid reference format"
    else
      done, err, code = client:remove_image(ref, { force = opts.force, noprune = opts["no-prune"] })
    end
    if done then
      for _, item in ipairs(type(done) == "table" and done or {}) do
        if item.Untagged then io.stdout:write("Untagged: ", sel.printable(item.Untagged), "\n") end
        if item.Deleted then io.stdout:write("Deleted: ", sel.printable(item.Deleted), "\n") end
      end
      io.stdout:flush()
    else
      if code == "connect" or code == "tls" or code == "config" or code == "version" then fail(err, code) end
      io.stderr:write("dockerpty: ", sel.printable(err), "\n")
      status = 1
    end
  end
  return status
end

return M
