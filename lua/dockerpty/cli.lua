-- The dockerpty command: run, attach, exec, ps and pick, as the docker CLI has them.
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"
local endpoint = require "dockerpty.endpoint"
local flags = require "dockerpty.flags"
local sel = require "dockerpty.select"

local M = {}

local unpack = table.unpack or unpack
local floor = math.floor

local FAIL = 125 -- dockerpty or the engine failed, as docker says it

-- Raised to end the command: a one-line message (or none) and an exit status.
local function exit_with(status, msg, usage_of)
  error({ exit = status, msg = msg, usage_of = usage_of }, 0)
end

local function fail(msg, code)
  if code == "connect" then
    local denied = msg:find("Permission denied", 1, true)
    msg = msg .. (denied and " (is this user allowed to use it?)" or " (is the engine running?)")
  end
  exit_with(FAIL, msg)
end

local HOST_FLAGS = {
  { short = "H", long = "host", kind = "string", help = "Engine to talk to (unix:///path or tcp://host:port)" },
  { short = "c", long = "context", kind = "string", help = "Docker CLI context to talk to (as `docker context use`)" },
  { short = "v", long = "version", kind = "bool", help = "Print the version and quit" },
  { short = "h", long = "help", kind = "bool", help = "Print usage" },
}

local DETACH_KEYS = { long = "detach-keys", kind = "string", help = "Keys that detach, as ctrl-p,ctrl-q" }
local HELP = { short = "h", long = "help", kind = "bool", help = "Print usage" }

local COMMANDS = {}
local ORDER = { "run", "attach", "exec", "ps", "pick" }

COMMANDS.run = {
  usage = "dockerpty run [OPTIONS] IMAGE [COMMAND] [ARG...]",
  summary = "Create and run a new container, with its terminal here",
  min_args = 1,
  flags = {
    { short = "i", long = "interactive", kind = "bool", help = "Keep STDIN open and send ours to it" },
    { short = "t", long = "tty", kind = "bool", help = "Allocate a pseudo-TTY" },
    { long = "rm", kind = "bool", help = "Remove the container when it exits (not when detached)" },
    { short = "d", long = "detach", kind = "bool", help = "Run in the background and print the container ID" },
    { long = "name", kind = "string", help = "Assign a name to the container" },
    { short = "e", long = "env", kind = "list", help = "Set environment variables (NAME=value)" },
    { short = "w", long = "workdir", kind = "string", help = "Working directory inside the container" },
    { short = "u", long = "user", kind = "string", help = "Username or UID (format: <name|uid>[:<group|gid>])" },
    { long = "entrypoint", kind = "string", help = "Overwrite the default ENTRYPOINT of the image" },
    DETACH_KEYS,
    { short = "l", long = "label", kind = "list", help = "Set metadata on the container (key=value)" },
    { short = "h", long = "hostname", kind = "string", help = "Container host name" },
    { long = "network", kind = "string", help = "Connect the container to a network" },
    { long = "sig-proxy", kind = "bool", default = true, help = "Forward received signals to the container (without a tty)" },
    { long = "help", kind = "bool", help = "Print usage" }, -- as docker run: -h is --hostname
  },
}

COMMANDS.attach = {
  usage = "dockerpty attach [OPTIONS] [CONTAINER]",
  summary = "Attach to a running container (with no CONTAINER on a terminal, pick one)",
  interspersed = true,
  flags = {
    DETACH_KEYS,
    { long = "no-stdin", kind = "bool", help = "Do not attach STDIN" },
    { long = "sig-proxy", kind = "bool", default = true, help = "Forward received signals to the container (without a tty)" },
    { long = "logs", kind = "bool", help = "Show what the container printed before attaching" },
    { long = "filter-escapes", kind = "bool", help = "Drop escape sequences that query or reprogram this terminal" },
    HELP,
  },
}

COMMANDS.exec = {
  usage = "dockerpty exec [OPTIONS] [CONTAINER COMMAND [ARG...]]",
  summary = "Run a command in a running container (with no CONTAINER on a terminal, pick one and run sh -it)",
  flags = {
    { short = "i", long = "interactive", kind = "bool", help = "Keep STDIN open and send ours to it" },
    { short = "t", long = "tty", kind = "bool", help = "Allocate a pseudo-TTY" },
    { short = "e", long = "env", kind = "list", help = "Set environment variables (NAME=value)" },
    { short = "w", long = "workdir", kind = "string", help = "Working directory inside the container" },
    { short = "u", long = "user", kind = "string", help = "Username or UID (format: <name|uid>[:<group|gid>])" },
    DETACH_KEYS,
    HELP,
  },
}

COMMANDS.ps = {
  usage = "dockerpty ps [OPTIONS]",
  summary = "List containers",
  interspersed = true,
  max_args = 0,
  flags = {
    { short = "a", long = "all", kind = "bool", help = "Show all containers (default shows just running)" },
    { short = "q", long = "quiet", kind = "bool", help = "Only display container IDs" },
    { short = "f", long = "filter", kind = "list", help = "Filter output based on conditions provided (key=value)" },
    HELP,
  },
}

COMMANDS.pick = {
  usage = "dockerpty pick [OPTIONS] [QUERY]",
  summary = "Pick a running container on the terminal and print its ID",
  interspersed = true,
  max_args = 1,
  flags = {
    { short = "a", long = "all", kind = "bool", help = "Offer stopped containers too" },
    HELP,
  },
}

local function top_help()
  local lines = {
    "Usage:  dockerpty [OPTIONS] COMMAND",
    "",
    "A container's terminal, over the Docker Engine API.",
    "",
    "Options:",
    flags.help(HOST_FLAGS),
    "",
    "Commands:",
  }
  for _, name in ipairs(ORDER) do
    lines[#lines + 1] = ("  %-8s %s"):format(name, COMMANDS[name].summary)
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Run 'dockerpty COMMAND --help' for more information on a command."
  lines[#lines + 1] = "The engine comes from -H or -c, else DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH),"
  lines[#lines + 1] = "else DOCKER_CONTEXT, else the docker CLI's current context."
  return table.concat(lines, "\n") .. "\n"
end

local function command_help(name)
  local c = COMMANDS[name]
  return ("Usage:  %s\n\n%s\n\nOptions:\n%s\n"):format(c.usage, c.summary, flags.help(c.flags))
end

-- detachKeys from the docker CLI's config file, as docker honours it.
local function config_detach_keys(getenv)
  local doc, err = endpoint.read_config(getenv)
  if err then io.stderr:write("WARNING: ignoring ", err, "\n") end
  if doc and type(doc.detachKeys) == "string" and doc.detachKeys ~= "" then
    return doc.detachKeys, ("detachKeys in %s/config.json"):format(endpoint.config_dir(getenv))
  end
end

-- As docker: --detach-keys, else the config file's, else the default; an empty flag is unset.
local function detach_keys(opts, getenv)
  local spec, from = opts["detach-keys"], "--detach-keys"
  if spec == "" then spec = nil end
  if not spec then spec, from = config_detach_keys(getenv) end
  if spec then
    local ok, err = core.parse_keys(spec)
    if not ok then exit_with(FAIL, from .. ": " .. err) end
  end
  return spec
end

local function stdin_is_tty()
  return core.isatty(core.fileno(io.stdin))
end

-- docker's words and status for a terminal asked for where there is none.
local function check_tty(interactive, tty)
  if interactive and tty and not stdin_is_tty() then
    exit_with(1, "the input device is not a TTY")
  end
end

-- What start failures mean to a shell: 127 not found, 126 cannot run, 125 the rest.
local function start_failure_status(msg)
  local m = msg:lower()
  if m:find("executable file not found", 1, true) or m:find("no such file or directory", 1, true) then
    return 127
  end
  if m:find("permission denied", 1, true) then return 126 end
  return FAIL
end

-- A detach ends as docker ends it: run quietly with 0; attach and exec say so, with 1.
local function session_result(code, err, kind, quiet_detach)
  if code then return code end
  if err == "detached" then
    if quiet_detach then return 0 end
    exit_with(1, "read escape sequence")
  end
  if kind == 404 then fail(err) end
  local status = type(kind) == "number" and start_failure_status(err) or FAIL
  exit_with(status, err)
end

-- A container named by the user, or picked when none was and stdin is a terminal.
local function container_arg(client, ref, usage_of)
  if ref then
    local id, err, code = sel.resolve(client, ref)
    if not id then fail(err, code) end
    return id
  end
  if not stdin_is_tty() then
    exit_with(1, ('"%s" requires a container when stdin is not a terminal'):format(usage_of), usage_of)
  end
  -- drawn where the user sees it: on stderr when stdout goes to a file or a pipe
  local c, err, code = sel.pick(client, { stdout = core.isatty(core.fileno(io.stdout)) and io.stdout or io.stderr })
  if not c then
    if err == "cancelled" then exit_with(1) end
    fail(err, code)
  end
  return c.id
end

local function labels_of(list)
  local labels = {}
  for _, l in ipairs(list or {}) do
    local k, v = l:match("^([^=]*)=(.*)$")
    labels[k or l] = v or ""
  end
  return labels
end

-- -e NAME passes NAME's value here, as docker does; a NAME not set here is passed as it is.
local function env_list(list, getenv)
  if not list then return nil end
  local out = {}
  for i, e in ipairs(list) do
    if e == "" or e:sub(1, 1) == "=" then exit_with(FAIL, ("invalid environment variable: %s"):format(e)) end
    local v = not e:find("=", 1, true) and getenv(e)
    out[i] = v and e .. "=" .. v or e
  end
  return out
end

function COMMANDS.run.handler(client, opts, args, env)
  if not opts.detach then check_tty(opts.interactive, opts.tty) end -- detached, no terminal is needed
  local image = args[1]
  local cmd = { unpack(args, 2) }
  local keys = detach_keys(opts, env.getenv)
  local attach = not opts.detach
  local body = {
    Image = image,
    Cmd = #cmd > 0 and cmd or nil,
    Entrypoint = opts.entrypoint and { opts.entrypoint } or nil,
    Env = env_list(opts.env, env.getenv), WorkingDir = opts.workdir, User = opts.user,
    Hostname = opts.hostname, Labels = opts.label and labels_of(opts.label) or nil,
    Tty = opts.tty == true,
    OpenStdin = opts.interactive == true,
    StdinOnce = opts.interactive == true and attach,
    AttachStdin = opts.interactive == true and attach,
    AttachStdout = attach, AttachStderr = attach,
    HostConfig = { AutoRemove = opts.rm == true, NetworkMode = opts.network },
  }
  local created, err, code = client:create_container(body, { name = opts.name })
  if not created then
    if code == 404 and err:find("No such image", 1, true) then
      local ref = image:find(":", 1, true) and image or image .. ":latest"
      exit_with(FAIL, ("Unable to find image '%s' locally, and dockerpty never pulls: build or load it first"):format(ref))
    end
    fail(err, code)
  end
  local id = created.Id
  if opts.detach then
    local ok, serr, scode = client:start(id)
    if not ok then
      if opts.rm then client:remove_container(id, { force = true }) end
      exit_with(type(scode) == "number" and start_failure_status(serr) or FAIL, serr)
    end
    io.stdout:write(id, "\n")
    return 0
  end
  local status, serr, kind = dockerpty.start_created(client, id, body, {
    interactive = opts.interactive == true, detach_keys = keys, sig_proxy = opts["sig-proxy"],
  })
  if not status and opts.rm and serr ~= "detached" then
    -- never started, so the engine will not remove it: --rm still means removed
    local info = client:inspect_container(id)
    if info and not info.State.Running then client:remove_container(id, { force = true }) end
  end
  return session_result(status, serr, kind, true)
end

function COMMANDS.attach.handler(client, opts, args, env)
  if #args > 1 then exit_with(1, '"attach" accepts at most 1 argument.', "attach") end
  local keys = detach_keys(opts, env.getenv)
  local id = container_arg(client, args[1], "attach")
  local info, err, code = client:inspect_container(id)
  if not info then fail(err, code) end
  if not info.State.Running then exit_with(1, "You cannot attach to a stopped container, start it first") end
  if info.State.Paused then exit_with(1, "You cannot attach to a paused container, unpause it first") end
  check_tty(not opts["no-stdin"], info.Config.Tty)
  local status, serr, kind = dockerpty.start(client, id, {
    interactive = not opts["no-stdin"], detach_keys = keys, sig_proxy = opts["sig-proxy"], logs = opts.logs,
    filter_escapes = opts["filter-escapes"],
  })
  return session_result(status, serr, kind)
end

function COMMANDS.exec.handler(client, opts, args, env)
  local ref, cmd = args[1], { unpack(args, 2) }
  if ref and #cmd == 0 then exit_with(1, '"exec" requires at least 2 arguments.', "exec") end
  -- no container: one is picked on the terminal, and gets a shell there, as exec -it sh
  if not ref and stdin_is_tty() then opts.interactive, opts.tty = true, true end
  check_tty(opts.interactive, opts.tty)
  local keys = detach_keys(opts, env.getenv)
  local env_vars = env_list(opts.env, env.getenv) -- refused before a container is picked
  local id = container_arg(client, ref, "exec")
  if #cmd == 0 then cmd = { "sh" } end
  local status, err, kind = dockerpty.exec_command(client, id, cmd, {
    interactive = opts.interactive == true, tty = opts.tty == true,
    env = env_vars, workdir = opts.workdir, user = opts.user, detach_keys = keys,
  })
  return session_result(status, err, kind)
end

-- docker's "2 minutes ago".
local function human_duration(seconds)
  if seconds < 1 then return "Less than a second" end
  if seconds == 1 then return "1 second" end
  if seconds < 60 then return ("%d seconds"):format(seconds) end
  local minutes = floor(seconds / 60)
  if minutes == 1 then return "About a minute" end
  if minutes < 60 then return ("%d minutes"):format(minutes) end
  local hours = floor(seconds / 3600)
  if hours == 1 then return "About an hour" end
  if hours < 48 then return ("%d hours"):format(hours) end
  if hours < 24 * 7 * 2 then return ("%d days"):format(floor(hours / 24)) end
  if hours < 24 * 30 * 2 then return ("%d weeks"):format(floor(hours / 24 / 7)) end
  if hours < 24 * 365 * 2 then return ("%d months"):format(floor(hours / 24 / 30)) end
  return ("%d years"):format(floor(hours / 24 / 365))
end
M.human_duration = human_duration

-- Characters, not bytes, in UTF-8 text (any Lua, 5.1 included).
local function width(s)
  return select(2, s:gsub("[^\128-\191]", ""))
end

-- At most n characters, the last one "…" when it was longer.
local function ellipsis(s, n)
  if width(s) <= n then return s end
  local out, count = {}, 0
  for ch in s:gmatch("[%z\1-\127\192-\255][\128-\191]*") do
    count = count + 1
    if count == n then break end
    out[#out + 1] = ch
  end
  return table.concat(out) .. "…"
end

-- Columns padded as docker's tabwriter pads them: at least 10 wide, 3 spaces between.
local function table_text(rows)
  local widths = {}
  for _, r in ipairs(rows) do
    for i, cell in ipairs(r) do
      widths[i] = math.max(widths[i] or 0, width(cell) + 3, 10)
    end
  end
  local out = {}
  for _, r in ipairs(rows) do
    local line = {}
    for i, cell in ipairs(r) do
      if i < #r then
        line[#line + 1] = cell .. string.rep(" ", widths[i] - width(cell))
      else
        line[#line + 1] = cell
      end
    end
    out[#out + 1] = table.concat(line)
  end
  return table.concat(out, "\n") .. "\n"
end

local function ports_text(ports)
  local parts = {}
  for _, p in ipairs(ports or {}) do
    if p.PublicPort then
      parts[#parts + 1] = ("%s:%d->%d/%s"):format(p.IP or "0.0.0.0", p.PublicPort, p.PrivatePort, p.Type)
    else
      parts[#parts + 1] = ("%d/%s"):format(p.PrivatePort, p.Type)
    end
  end
  return table.concat(parts, ", ")
end

function COMMANDS.ps.handler(client, opts)
  local filters
  for _, f in ipairs(opts.filter or {}) do
    local k, v = f:match("^([^=]+)=(.*)$")
    if not k then exit_with(FAIL, ("bad format of filter (expected name=value): %s"):format(f), "ps") end
    filters = filters or {}
    filters[k] = filters[k] or {}
    table.insert(filters[k], v)
  end
  local list, err, code = client:containers { all = opts.all, filters = filters }
  if not list then fail(err, code) end
  if opts.quiet then
    for _, c in ipairs(list) do io.stdout:write(c.Id:sub(1, 12), "\n") end
    return 0
  end
  local rows = { { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES" } }
  local now = os.time()
  for _, c in ipairs(list) do
    local names = {}
    for _, n in ipairs(c.Names or {}) do names[#names + 1] = n:gsub("^/", "") end
    rows[#rows + 1] = {
      c.Id:sub(1, 12), sel.printable(c.Image or ""), '"' .. sel.printable(ellipsis(c.Command or "", 20), true) .. '"',
      human_duration(math.max(0, now - (c.Created or now))) .. " ago",
      c.Status or "", ports_text(c.Ports), table.concat(names, ","),
    }
  end
  io.stdout:write(table_text(rows))
  return 0
end

function COMMANDS.pick.handler(client, opts, args)
  -- the picker draws on stderr, so that stdout carries only the ID: $(dockerpty pick)
  local c, err, code = sel.pick(client, { query = { all = opts.all }, text = args[1], stdout = io.stderr })
  if not c then
    if err == "cancelled" then return 1 end
    fail(err, code)
  end
  io.stdout:write(c.id, "\n")
  return 0
end

local function run_command(argv, env)
  local top, rest = flags.parse(argv, HOST_FLAGS, false)
  if not top then exit_with(FAIL, rest, "") end
  if top.version then
    io.stdout:write("dockerpty ", dockerpty._VERSION, "\n")
    return 0
  end
  local name = table.remove(rest, 1)
  if top.help or not name then
    io.stdout:write(top_help())
    return name and 0 or (top.help and 0 or 1)
  end
  if name == "help" then
    local what = rest[1]
    io.stdout:write(what and COMMANDS[what] and command_help(what) or top_help())
    return 0
  end
  local c = COMMANDS[name]
  if not c then
    exit_with(FAIL, ("'%s' is not a dockerpty command"):format(name), "")
  end
  local opts, args = flags.parse(rest, c.flags, c.interspersed)
  if not opts then exit_with(FAIL, args, name) end
  if opts.help then
    io.stdout:write(command_help(name))
    return 0
  end
  if c.min_args and #args < c.min_args then
    exit_with(1, ('"%s" requires at least %d argument%s.'):format(name, c.min_args, c.min_args == 1 and "" or "s"), name)
  end
  if c.max_args and #args > c.max_args then
    exit_with(1, ('"%s" accepts at most %d argument%s.'):format(name, c.max_args, c.max_args == 1 and "" or "s"), name)
  end
  local client, err, code = dockerpty.client { host = top.host, context = top.context }
  if not client then fail(err, code) end
  return c.handler(client, opts, args, env)
end

-- main(argv, [env]) -> exit status. Every failure is one line on stderr, never a traceback.
function M.main(argv, env)
  env = env or { getenv = os.getenv }
  local ok, res = xpcall(run_command, function(e)
    if type(e) == "table" then return e end
    return { exit = FAIL, msg = "internal error: " .. tostring(e):gsub("\n.*", "") }
  end, argv, env)
  if ok then return res or 0 end
  if res.msg then
    io.stderr:write("dockerpty: ", res.msg, "\n")
    if res.usage_of then
      io.stderr:write(("See 'dockerpty%s --help'.\n"):format(res.usage_of ~= "" and " " .. res.usage_of or ""))
    end
  end
  io.stderr:flush()
  return res.exit
end

return M
