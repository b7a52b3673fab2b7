-- build and rm, as the docker CLI has them: build with the classic builder's lines as they
-- come (a context directory, or a tar or a Dockerfile on stdin), rm for the clean-up after.
local sel = require "dockerpty.select"
local base = require "dockerpty.cli.base"
local progress = require "dockerpty.progress"
local dockerignore = require "dockerpty.dockerignore"
local tar = require "dockerpty.tar"
local credentials = require "dockerpty.credentials"
local core = require "dockerpty.core"

local exit_with, fail = base.exit_with, base.fail

local M = {}

M.build = {
  usage = "dockerpty build [OPTIONS] PATH | -",
  summary = "Build an image from a Dockerfile (the classic builder)",
  interspersed = true,
  min_args = 1,
  max_args = 1,
  flags = {
    { short = "t", long = "tag", kind = "list", help = "Name and optionally a tag (format: name:tag)" },
    { short = "f", long = "file", kind = "string", help = "Name of the Dockerfile (default: PATH/Dockerfile; - for stdin)" },
    { long = "build-arg", kind = "list", help = "Set build-time variables (KEY=VALUE)" },
    { long = "no-cache", kind = "bool", help = "Do not use cache when building the image" },
    { long = "pull", kind = "bool", help = "Always attempt to pull a newer version of the image" },
    { short = "q", long = "quiet", kind = "bool", help = "Suppress the build output and print image ID on success" },
    { long = "target", kind = "string", help = "Set the target build stage to build" },
    { long = "network", kind = "string", help = "Set the networking mode for the RUN instructions during build" },
    { long = "label", kind = "list", help = "Set metadata for an image (KEY=VALUE)" },
    base.HELP,
  },
}

-- KEY=VALUE pairs into a table; a KEY alone takes the environment's value (build args, and
-- is left out when unset) or "" (labels), as docker does.
local function pairs_of(list, getenv)
  local t = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([^=]*)=(.*)$")
    if k then
      t[k] = v
    elseif getenv then
      t[kv] = getenv(kv)
    else
      t[kv] = ""
    end
  end
  return next(t) and t or nil
end

local function read_all(file, what)
  local data, err = file:read("*a")
  if not data then exit_with(1, ("cannot read %s: %s"):format(what, tostring(err))) end
  return data
end

-- An absolute, cleaned path: relative ones are taken from the working directory, as docker's -f is.
local function absolute(p, getenv)
  if p:sub(1, 1) ~= "/" then
    local cwd = getenv("PWD")
    if not cwd or not core.lstat(cwd) then
      local pipe = io.popen("pwd")
      cwd = pipe and pipe:read("*l") or "."
      if pipe then pipe:close() end
    end
    p = cwd .. "/" .. p
  end
  return dockerignore.clean(p)
end

-- Every registry's credentials, which the build sends for its FROM lines' pulls as docker
-- does; none when config.json cannot be read (warned about already).
local function registry_credentials(getenv)
  local doc = base.load_config(getenv)
  if not doc then return {} end
  local all, err = credentials.all { getenv = getenv, config = doc }
  if not all then exit_with(1, err) end
  return all
end

-- The image a step's line pulls: "Step 1/2 : FROM [--platform=P] REF [AS NAME]" -> REF | nil.
local function from_image(line)
  local rest = line:match("^Step %d+/%d+ : [Ff][Rr][Oo][Mm]%s+(.*)$")
  if not rest then return nil end
  for word in rest:gmatch("%S+") do
    if word:sub(1, 2) ~= "--" then return word end
  end
end

-- stdin as the context: a tar, handed on in chunks as it is read, or a Dockerfile alone.
local function stdin_context()
  local first = io.stdin:read(tar.BLOCK) or ""
  if #first == tar.BLOCK and first:sub(258, 262) == "ustar" then
    local sent_first = false
    return function()
      if not sent_first then
        sent_first = true
        return first
      end
      return io.stdin:read(tar.CHUNK)
    end
  end
  return tar.TRAILER, first .. read_all(io.stdin, "the Dockerfile from stdin")
end

function M.build.handler(client, opts, args, env)
  local getenv = env.getenv or os.getenv
  local path, file = args[1], opts.file
  if path == "-" and file == "-" then
    exit_with(1, "invalid argument: can't use stdin for both build context and dockerfile")
  end
  local context, dockerfile, text = path, nil, nil
  if path == "-" then
    context, text = stdin_context()
    dockerfile = file
  else
    local st, err = core.lstat(path)
    if not st then exit_with(1, "unable to prepare context: " .. err) end
    if st.type ~= "directory" then
      exit_with(1, "unable to prepare context: context must be a directory: " .. path)
    end
    if file == "-" then
      text = read_all(io.stdin, "the Dockerfile from stdin")
    elseif file then
      local abs_file, abs_ctx = absolute(file, getenv), absolute(path, getenv)
      if not core.lstat(abs_file) then
        exit_with(1, "unable to prepare context: Cannot locate specified Dockerfile: " .. file)
      end
      if abs_file:sub(1, #abs_ctx + 1) ~= (abs_ctx == "/" and "/" or abs_ctx .. "/") then
        exit_with(1, ("unable to prepare context: the Dockerfile (%s) must be within the build context"):format(file))
      end
      dockerfile = abs_file:sub(#abs_ctx + (abs_ctx == "/" and 1 or 2))
    end
  end
  local display = not opts.quiet and progress.for_file(io.stdout)
  local creds = registry_credentials(getenv)
  local step_image -- the FROM image of the step under way, if it is a FROM
  local id, err, code = client:build(context, {
    registry_config = credentials.base64url(core.json_encode(creds)),
    tag = opts.tag, dockerfile = dockerfile, dockerfile_text = text,
    buildargs = pairs_of(opts["build-arg"], getenv), labels = pairs_of(opts.label),
    nocache = opts["no-cache"], pull = opts.pull, target = opts.target, networkmode = opts.network,
    quiet = opts.quiet,
    on_output = function(m)
      if type(m.stream) == "string" and m.stream:match("^Step ") then step_image = from_image(m.stream) end
      if not display then return end
      if type(m.stream) == "string" then
        io.stdout:write(m.stream)
        io.stdout:flush()
      elseif m.status or m.progressDetail then
        display:add(m)
      end
    end,
  })
  if not id and step_image then
    -- a FROM that failed with nothing sent for its registry: the engine's words rarely say so
    local server = credentials.for_reference(step_image)
    if server and not creds[server] then err = ("%s (no credentials sent for %s)"):format(err, server) end
  end
  if not id then
    if code == "build" or code == "context" or type(code) == "number" then exit_with(1, err) end
    fail(err, code, 1)
  end
  if opts.quiet then io.stdout:write(sel.printable(id), "\n") end
  return 0
end

M.rm = {
  usage = "dockerpty rm [OPTIONS] CONTAINER [CONTAINER...]",
  summary = "Remove one or more containers",
  interspersed = true,
  min_args = 1,
  flags = {
    { short = "f", long = "force", kind = "bool", help = "Force the removal of a running container (uses SIGKILL)" },
    { short = "v", long = "volumes", kind = "bool", help = "Remove anonymous volumes associated with the container" },
    base.HELP,
  },
}

-- As docker: each container named echoed once removed, a failure on a line of its own, 1 if any.
function M.rm.handler(client, opts, args)
  local status = 0
  for _, ref in ipairs(args) do
    local ok, err, code
    if ref == "" then
      err = base.EMPTY_NAME
    else
      ok, err, code = client:remove_container(ref, { force = opts.force or nil, v = opts.volumes or nil })
    end
    if ok then
      io.stdout:write(sel.printable(ref), "\n")
      io.stdout:flush()
    else
      if code == "connect" or code == "tls" or code == "config" or code == "version" or code == "transport" then
        fail(err, code)
      end
      io.stderr:write("dockerpty: ", sel.printable(err), "\n")
      status = 1
    end
  end
  return status
end

return M
