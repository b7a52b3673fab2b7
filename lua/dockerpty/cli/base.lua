-- What every command of dockerpty shares: how it ends (a status and one line), the engine's
-- failures worded for a user, detach keys, the terminal checks docker makes.
local core = require "dockerpty.core"
local endpoint = require "dockerpty.endpoint"
local sel = require "dockerpty.select"

local M = {}

M.FAIL = 125 -- dockerpty or the engine failed, as docker says it
local FAIL = M.FAIL

M.DETACH_KEYS = { long = "detach-keys", kind = "string", help = "Keys that detach, as ctrl-p,ctrl-q" }
M.HELP = { short = "h", long = "help", kind = "bool", help = "Print usage" }
M.RECORD = { long = "record", kind = "string", help = "Write an asciicast v2 recording of the session to this file" }

-- A recording that cannot be written is said before anything is made or attached.
function M.check_record(path)
  local ok, err = require("dockerpty.record").check(path)
  if not ok then M.exit_with(M.FAIL, err) end
end

-- Raised to end the command: a one-line message (or none) and an exit status.
function M.exit_with(status, msg, usage_of)
  error({ exit = status, msg = msg, usage_of = usage_of }, 0)
end
local exit_with = M.exit_with

-- A failure of the engine or of reaching it, with a hint when nothing answered; status 125
-- unless told.
function M.fail(msg, code, status)
  if code == "connect" then
    local denied = msg:find("Permission denied", 1, true)
    msg = msg .. (denied and " (is this user allowed to use it?)" or " (is the engine running?)")
  end
  exit_with(status or FAIL, msg)
end
local fail = M.fail

-- The docker CLI's config.json, read once a command (again with fresh): a file that cannot
-- be used is warned about in one line, whatever the command, and passed over, as docker does.
local loaded
function M.load_config(getenv, fresh)
  if fresh or not loaded then
    local doc, err = endpoint.read_config(getenv)
    if err then io.stderr:write("WARNING: ignoring ", sel.printable(err), "\n") end
    loaded = { doc }
  end
  return loaded[1]
end

-- detachKeys from the docker CLI's config file, as docker honours it.
local function config_detach_keys(getenv)
  local doc = M.load_config(getenv)
  if doc and type(doc.detachKeys) == "string" and doc.detachKeys ~= "" then
    return doc.detachKeys, ("detachKeys in %s/config.json"):format(endpoint.config_dir(getenv))
  end
end

-- As docker: --detach-keys, else the config file's, else the default; an empty flag is unset.
function M.detach_keys(opts, getenv)
  local spec, from = opts["detach-keys"], "--detach-keys"
  if spec == "" then spec = nil end
  if not spec then spec, from = config_detach_keys(getenv) end
  if spec then
    local ok, err = core.parse_keys(spec)
    if not ok then exit_with(FAIL, from .. ": " .. err) end
  end
  return spec
end

function M.stdin_is_tty()
  return core.isatty(core.fileno(io.stdin))
end

-- docker's words and status for a terminal asked for where there is none.
function M.check_tty(interactive, tty)
  if interactive and tty and not M.stdin_is_tty() then
    exit_with(1, "the input device is not a TTY")
  end
end

-- What start failures mean to a shell: 127 not found, 126 cannot run, 125 the rest.
function M.start_failure_status(msg)
  local m = msg:lower()
  if m:find("executable file not found", 1, true) or m:find("no such file or directory", 1, true) then
    return 127
  end
  if m:find("permission denied", 1, true) then return 126 end
  return FAIL
end

-- A detach ends as docker ends it: run quietly with 0; attach and exec say so, with 1.
function M.session_result(code, err, kind, quiet_detach)
  if code then return code end
  if err == "detached" then
    if quiet_detach then return 0 end
    exit_with(1, "read escape sequence")
  end
  if kind == 404 then fail(err) end
  local status = type(kind) == "number" and M.start_failure_status(err) or FAIL
  exit_with(status, err)
end

-- The docker CLI's words for a container named by nothing.
M.EMPTY_NAME = "invalid container name or ID: value is empty"

return M
