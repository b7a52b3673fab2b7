-- The dockerpty command: run, attach, exec, ps and pick, as the docker CLI has them; start,
-- stop, restart, kill (cli/lifecycle.lua) and logs (cli/logs.lua) around them; ps in cli/ps.lua.
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"
local flags = require "dockerpty.flags"
local sel = require "dockerpty.select"
local runopts = require "dockerpty.cli.runopts"

local M = {}

local unpack = table.unpack or unpack

local base = require "dockerpty.cli.base"

local FAIL, exit_with, fail = base.FAIL, base.exit_with, base.fail
local detach_keys, stdin_is_tty, check_tty = base.detach_keys, base.stdin_is_tty, base.check_tty
local start_failure_status, session_result = base.start_failure_status, base.session_result

local HOST_FLAGS = {
  { short = "H", long = "host", kind = "string", help = "Engine to talk to (unix:///path or tcp://host:port)" },
  { short = "c", long = "context", kind = "string", help = "Docker CLI context to talk to (as `docker context use`)" },
  { short = "v", long = "version", kind = "bool", help = "Print the version and quit" },
  { short = "h", long = "help", kind = "bool", help = "Print usage" },
}

local DETACH_KEYS, HELP, RECORD = base.DETACH_KEYS, base.HELP, base.RECORD
local CANCELLED = "cancelled: no container picked"

local COMMANDS = {}
local ORDER = { "run", "attach", "exec", "start", "stop", "restart", "kill", "logs", "ps", "pull", "images", "rmi", "build", "rm", "login", "logout", "connect", "serve", "pick" }

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
    RECORD,
    { short = "l", long = "label", kind = "list", help = "Set metadata on the container (key=value)" },
    { short = "h", long = "hostname", kind = "string", help = "Container host name" },
    { long = "network", kind = "string", help = "Connect the container to a network" },
    { long = "sig-proxy", kind = "bool", default = true, help = "Forward received signals to the container (without a tty)" },
    { long = "pull", kind = "string", help = 'Pull image before running ("always", "missing", "never"; "missing" by default)' },
    { long = "help", kind = "bool", help = "Print usage" }, -- as docker run: -h is --hostname
  },
}
for _, f in ipairs(runopts.flags) do table.insert(COMMANDS.run.flags, #COMMANDS.run.flags, f) end

COMMANDS.run.request = function(argv, getenv) return M.run_request(argv, getenv) end

COMMANDS.attach = {
  usage = "dockerpty attach [OPTIONS] [CONTAINER]",
  summary = "Attach to a running container (with no CONTAINER on a terminal, pick one)",
  interspersed = true,
  flags = {
    DETACH_KEYS,
    RECORD,
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
    RECORD,
    HELP,
  },
}

-- The other commands, each loaded from its module when it is first named: a command loads
-- what it needs, not every other command's code.
local LAZY = {
  start = "lifecycle", stop = "lifecycle", restart = "lifecycle", kill = "lifecycle",
  logs = "logs", ps = "ps", pull = "image", images = "image", rmi = "image",
  build = "build", rm = "build", login = "login", logout = "login", serve = "serve", connect = "connect",
}
setmetatable(COMMANDS, {
  __index = function(t, name)
    local module = LAZY[name]
    if not module then return nil end
    local c = require("dockerpty.cli." .. module)[name]
    rawset(t, name, c)
    return c
  end,
})

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

-- A container named by the user, or picked when none was and stdin is a terminal.
local function container_arg(client, ref, usage_of)
  if ref then
    local id, err, code = sel.resolve(client, ref)
    if not id then
      if code == 400 then exit_with(1, err) end -- docker's status for a bad name
      fail(err, code)
    end
    return id
  end
  if not stdin_is_tty() then
    exit_with(1, ('"%s" requires a container when stdin is not a terminal'):format(usage_of), usage_of)
  end
  -- drawn where the user sees it: on stderr when stdout goes to a file or a pipe
  local c, err, code = sel.pick(client, { stdout = core.isatty(core.fileno(io.stdout)) and io.stdout or io.stderr })
  if not c then
    if err == "cancelled" then exit_with(1, CANCELLED) end
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
-- Returns the list, or nil, message for an entry docker refuses.
local function env_list(list, getenv)
  if not list then return nil end
  local out = {}
  for i, e in ipairs(list) do
    if e == "" or e:sub(1, 1) == "=" then return nil, ("invalid environment variable: %s"):format(e) end
    local v = not e:find("=", 1, true) and getenv(e)
    out[i] = v and e .. "=" .. v or e
  end
  return out
end

-- A command's words parsed with its flag table: opts, args | nil, message, status, true, as
-- the command reports a mistake of usage (125 for a flag, 1 for a missing argument).
local function parse_args(name, argv)
  local c = COMMANDS[name]
  local opts, args = flags.parse(argv, c.flags, c.interspersed)
  if not opts then return nil, args, FAIL, true end
  if opts.help then return opts, args end
  if c.min_args and #args < c.min_args then
    return nil, ('"%s" requires at least %d argument%s.'):format(name, c.min_args, c.min_args == 1 and "" or "s"), 1, true
  end
  if c.max_args and #args > c.max_args then
    return nil, ('"%s" accepts at most %d argument%s.'):format(name, c.max_args, c.max_args == 1 and "" or "s"), 1, true
  end
  return opts, args
end

-- run_request(argv, [getenv]) -> req | nil, message, status, usage: what `dockerpty run ARGV...`
-- would create, with no engine and no terminal touched. req = {image =, name =, cmd =,
-- body = (the create body), platform = (the create's query), opts = (flag values by long
-- name)}; with --help, only opts.
function M.run_request(argv, getenv)
  getenv = getenv or os.getenv
  local opts, args, status, usage = parse_args("run", argv)
  if not opts then return nil, args, status, usage end
  if opts.help then return { opts = opts } end
  local keys = opts["detach-keys"]
  if keys and keys ~= "" then
    local ok, kerr = core.parse_keys(keys)
    if not ok then return nil, "--detach-keys: " .. kerr, FAIL end
  end
  local env_vars, eerr = env_list(opts.env, getenv)
  if eerr then return nil, eerr, FAIL end
  if opts.record and opts.detach then return nil, "--record records a session, and -d opens none", FAIL end
  local image = args[1]
  local cmd = { unpack(args, 2) }
  local attach = not opts.detach
  local body = {
    Image = image,
    Cmd = #cmd > 0 and cmd or nil,
    Entrypoint = opts.entrypoint and { opts.entrypoint } or nil,
    Env = env_vars, WorkingDir = opts.workdir, User = opts.user,
    Hostname = opts.hostname, Labels = opts.label and labels_of(opts.label) or nil,
    Tty = opts.tty == true,
    OpenStdin = opts.interactive == true,
    StdinOnce = opts.interactive == true and attach,
    AttachStdin = opts.interactive == true and attach,
    AttachStdout = attach, AttachStderr = attach,
    HostConfig = { AutoRemove = opts.rm == true, NetworkMode = opts.network },
  }
  local query, qerr = runopts.apply(opts, body, getenv)
  if not query then return nil, qerr, FAIL end
  return { image = image, name = opts.name, cmd = #cmd > 0 and cmd or nil, body = body, opts = opts,
    platform = query.platform }
end

function COMMANDS.run.handler(client, opts, req, env)
  local image, body = req.image, req.body
  local policy = opts.pull or "missing"
  if policy ~= "missing" and policy ~= "always" and policy ~= "never" then
    exit_with(FAIL, ('invalid pull option: \'%s\': must be one of "always", "missing" or "never"'):format(policy))
  end
  if not opts.detach then check_tty(opts.interactive, opts.tty) end -- detached, no terminal is needed
  local keys = detach_keys(opts, env.getenv)
  if opts.record then base.check_record(opts.record) end -- before a container is made
  if policy == "always" then require("dockerpty.cli.image").pull_for_run(client, image, opts, env, true) end
  local created, err, code = client:create_container(body, { name = opts.name, platform = req.platform })
  if not created and policy == "missing" and code == 404 and err:find("No such image", 1, true) then
    require("dockerpty.cli.image").pull_for_run(client, image, opts, env)
    created, err, code = client:create_container(body, { name = opts.name, platform = req.platform })
  end
  if not created then fail(err, code) end
  local id = created.Id
  if opts.detach then
    local ok, serr, scode = client:start(id)
    if not ok then
      if opts.rm then client:remove_container(id, { force = true }) end
      exit_with(type(scode) == "number" and start_failure_status(serr) or FAIL, serr)
    end
    io.stdout:write(sel.printable(id), "\n")
    return 0
  end
  local status, serr, kind = dockerpty.start_created(client, id, body, {
    interactive = opts.interactive == true, detach_keys = keys, sig_proxy = opts["sig-proxy"],
    record = opts.record,
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
    filter_escapes = opts["filter-escapes"], record = opts.record,
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
  local env_vars, eerr = env_list(opts.env, env.getenv) -- refused before a container is picked
  if eerr then exit_with(FAIL, eerr) end
  local id = container_arg(client, ref, "exec")
  if #cmd == 0 then cmd = { "sh" } end
  local status, err, kind = dockerpty.exec_command(client, id, cmd, {
    interactive = opts.interactive == true, tty = opts.tty == true,
    env = env_vars, workdir = opts.workdir, user = opts.user, detach_keys = keys, record = opts.record,
  })
  if kind == 409 then exit_with(1, err) end -- stopped or paused: docker's status
  return session_result(status, err, kind)
end

function M.human_duration(...) return require("dockerpty.cli.ps").human_duration(...) end

-- With no terminal to pick on, the query must name one container: the only one it matches
-- (fuzzy), or the one whose name or ID it is.
local function pick_without_terminal(client, opts, query)
  if not query then
    exit_with(1, '"pick" needs a terminal on stdin, or a QUERY that matches one container', "pick")
  end
  local list, err, code = sel.candidates(client, { all = opts.all, text = query })
  if not list then fail(err, code) end
  local exact
  for _, c in ipairs(list) do
    if c.name == query or c.id == query then exact = c end
  end
  if exact or #list == 1 then return exact or list[1] end
  local printable = sel.printable(query, true)
  if #list == 0 then
    exit_with(1, ('no %scontainer matches "%s"'):format(opts.all and "" or "running ", printable))
  end
  local names = {}
  for _, c in ipairs(list) do names[#names + 1] = c.id:sub(1, 12) .. " (" .. sel.printable(c.name) .. ")" end
  exit_with(1, ('"%s" matches %d containers: %s'):format(printable, #list, table.concat(names, ", ")))
end

function COMMANDS.pick.handler(client, opts, args)
  local c, err, code
  if stdin_is_tty() then
    -- the picker draws on stderr, so that stdout carries only the ID: $(dockerpty pick)
    c, err, code = sel.pick(client, { query = { all = opts.all }, text = args[1], stdout = io.stderr })
  else
    c = pick_without_terminal(client, opts, args[1])
  end
  if not c then
    if err == "cancelled" then exit_with(1, CANCELLED) end
    fail(err, code)
  end
  io.stdout:write(sel.printable(c.id), "\n")
  return 0
end

local function run_command(argv, env)
  local top, rest = flags.parse(argv, HOST_FLAGS, false)
  if not top then exit_with(FAIL, rest, "") end
  base.load_config(env.getenv, true)
  if top.version then
    io.stdout:write("dockerpty ", dockerpty._VERSION, "\n")
    return 0
  end
  local name = table.remove(rest, 1)
  if top.help or not name then
    io.stdout:write(top_help())
    return 0 -- as docker: alone, it shows what it can do
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
  local opts, args, status, usage
  if c.request then
    opts, args, status, usage = c.request(rest, env.getenv)
    if opts then opts, args = opts.opts, opts end
  else
    opts, args, status, usage = parse_args(name, rest)
  end
  if not opts then exit_with(status, args, usage and name or nil) end
  if opts.help then
    io.stdout:write(command_help(name))
    return 0
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
    -- what the engine says, a container's command included, reaches the terminal escaped
    io.stderr:write("dockerpty: ", sel.printable(res.msg), "\n")
    if res.usage_of then
      io.stderr:write(("See 'dockerpty%s --help'.\n"):format(res.usage_of ~= "" and " " .. res.usage_of or ""))
    end
  end
  io.stderr:flush()
  return res.exit
end

-- The flags a command takes, as flags.parse reads them (for hosts that complete them).
function M.flags_of(name)
  return COMMANDS[name] and COMMANDS[name].flags
end

return M
