-- login and logout, as the docker CLI has them: credentials checked by the engine, kept
-- where docker keeps them (credentials.lua), a password read from the terminal unechoed.
local core = require "dockerpty.core"
local base = require "dockerpty.cli.base"
local credentials = require "dockerpty.credentials"
local sel = require "dockerpty.select"

local exit_with, fail = base.exit_with, base.fail

local M = {}

local SIGINT, SIGTSTP = 2, core.SIGTSTP

-- docker's own words
M.PASSWORD_FLAG_WARNING = "WARNING! Using --password via the CLI is insecure. Use --password-stdin."

-- A line typed at the terminal with no echo; the terminal is put back on every way out, and
-- a ctrl-c or a signal that ends the process ends it once the terminal is back.
local function read_secret(prompt)
  local fd = core.fileno(io.stdin)
  local sigfd, was_on = core.signals(true)
  local mode, err = core.raw(fd)
  if not mode then
    if not was_on then core.signals(false) end
    exit_with(1, err)
  end
  -- the prompt only once echo is off: what is typed on seeing it is never shown
  io.stdout:write(prompt)
  io.stdout:flush()
  local chars, ended = {}, nil
  local ok, perr = pcall(function()
    while true do
      local ready = core.poll({ { fd, "r" }, { sigfd, "r" } })
      for _, sig in ipairs(core.pending_signals()) do
        if sig == SIGTSTP then -- stopped with the terminal given back, raw again once resumed
          mode:restore()
          core.suspend()
          assert(mode:reapply())
        elseif sig ~= core.SIGWINCH and sig ~= core.SIGCONT then
          ended = sig
          return
        end
      end
      local b = ready[fd] and core.read(fd, 1, 0)
      if b == nil then return end -- end of input: what was typed so far
      if b == "\r" or b == "\n" then return end
      if b == "\3" then ended = SIGINT return end -- ISIG is off in raw mode: ctrl-c is a byte
      if b == "\4" and #chars == 0 then return end
      if b == "\127" or b == "\8" then
        -- one character rubbed out, all its UTF-8 bytes
        while #chars > 0 do
          local last = table.remove(chars)
          if last:byte() < 0x80 or last:byte() >= 0xC0 then break end
        end
      elseif b == "\21" then
        chars = {}
      elseif b and b ~= "" and (b:byte() >= 32 or b == "\t") then
        chars[#chars + 1] = b
      end
    end
  end)
  mode:restore()
  if not was_on then core.signals(false) end
  io.stdout:write("\n")
  io.stdout:flush()
  if ended then core.raise(ended) end
  if not ok then error(perr, 0) end
  return table.concat(chars)
end

M.login = {
  usage = "dockerpty login [OPTIONS] [SERVER]",
  summary = "Log in to a registry (Docker Hub without SERVER)",
  interspersed = true,
  max_args = 1,
  flags = {
    { short = "u", long = "username", kind = "string", help = "Username" },
    { short = "p", long = "password", kind = "string", help = "Password (insecure: use --password-stdin)" },
    { long = "password-stdin", kind = "bool", help = "Take the password from stdin" },
    base.HELP,
  },
}

function M.login.handler(client, opts, args, env)
  local user, password = opts.username, opts.password
  if password then
    io.stderr:write(M.PASSWORD_FLAG_WARNING, "\n")
    if opts["password-stdin"] then exit_with(1, "--password and --password-stdin are mutually exclusive") end
  end
  if opts["password-stdin"] then
    if not user or user == "" then exit_with(1, "Must provide --username with --password-stdin") end
    password = (io.stdin:read("*l") or ""):gsub("\r$", "")
  end
  local server = credentials.server(args[1])
  local getenv = env.getenv
  -- config.json must be readable before anything is written over it
  local doc, cerr = credentials.load(getenv)
  if not doc then exit_with(1, cerr) end

  local answer, default
  if not user and not password then -- as docker: what is kept is tried first
    local kept = credentials.get(server, { getenv = getenv, config = doc })
    default = kept and kept.username
    if default and kept.password and kept.password ~= "" then
      io.stdout:write("Authenticating with existing credentials... [Username: ", sel.printable(default), "]\n")
      io.stdout:flush()
      answer = client:login { username = default, password = kept.password, serveraddress = server }
      if answer then user, password = default, kept.password end
    end
  end
  if not answer then
    if (not user or not password) and not base.stdin_is_tty() then
      exit_with(1, "Cannot perform an interactive login from a non TTY device")
    end
    if not user then
      io.stdout:write(default and ("Username (%s): "):format(sel.printable(default)) or "Username: ")
      io.stdout:flush()
      user = (io.stdin:read("*l") or ""):gsub("^%s+", ""):gsub("%s+$", "")
      if user == "" then user = default or "" end
    end
    if user == "" then exit_with(1, "Non-null Username Required") end
    if not password then password = read_secret("Password: ") end
    if password == "" then exit_with(1, "Password Required") end
    local err, code
    answer, err, code = client:login { username = user, password = password, serveraddress = server }
    if not answer then fail(err, code, 1) end
  end

  local auth = { username = user, password = password }
  if type(answer.IdentityToken) == "string" and answer.IdentityToken ~= "" then
    auth.password, auth.identitytoken = nil, answer.IdentityToken -- as docker: the token, not the password
  end
  local where, serr = credentials.store(server, auth, { getenv = getenv })
  if not where then exit_with(1, "Error saving credentials: " .. serr) end
  if where:sub(1, 1) == "/" then
    io.stderr:write(("WARNING! Your credentials are stored unencrypted in '%s'.\n"):format(sel.printable(where)))
  end
  io.stdout:write(sel.printable(type(answer.Status) == "string" and answer.Status or "Login Succeeded"), "\n")
  return 0
end

M.logout = {
  usage = "dockerpty logout [SERVER]",
  summary = "Log out from a registry (Docker Hub without SERVER)",
  interspersed = true,
  max_args = 1,
  flags = { base.HELP },
}

function M.logout.handler(_, _, args, env)
  local server = credentials.server(args[1])
  local shown = sel.printable(server == credentials.INDEX_SERVER and server or credentials.hostname(server))
  local found, err = credentials.erase(server, { getenv = env.getenv })
  if found == nil then exit_with(1, err) end
  if not found then
    io.stdout:write("Not logged in to ", shown, "\n")
  else
    io.stdout:write("Removing login credentials for ", shown, "\n")
  end
  return 0
end

return M
