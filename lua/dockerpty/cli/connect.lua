-- dockerpty connect: a container's terminal from a gateway (dockerpty serve, or any server of
-- v5.channel.k8s.io), here as exec -it gives a local one (dockerpty.remote).
local base = require "dockerpty.cli.base"
local remote = require "dockerpty.remote"

local exit_with, FAIL = base.exit_with, base.FAIL

local M = {}

M.connect = {
  usage = "dockerpty connect [OPTIONS] URL",
  summary = "Open a container's terminal from a gateway (ws:// or wss:// URL)",
  min_args = 1,
  max_args = 1,
  flags = {
    { long = "token-file", kind = "string", help = "Read the bearer token from this file (else $DOCKERPTY_TOKEN)" },
    { long = "cacert", kind = "string", help = "Trust the gateway's certificate when this CA file signed it" },
    base.DETACH_KEYS,
    base.HELP,
  },
}

-- The token: the file's first line, or the environment's; never an argument, which others see.
local function token_of(opts, getenv)
  local name = opts["token-file"]
  if not name then
    local t = getenv("DOCKERPTY_TOKEN")
    return t ~= "" and t or nil
  end
  local f, err = io.open(name, "rb")
  if not f then exit_with(FAIL, ("cannot read the token file %s"):format(err or name)) end
  local text = f:read("*a") or ""
  f:close()
  local token = text:match("^[^\r\n]*"):match("^%s*(.-)%s*$")
  if not token or token == "" then exit_with(FAIL, ("the token file %s holds no token"):format(name)) end
  return token
end

function M.connect.handler(_, opts, args, env)
  local keys = base.detach_keys(opts, env.getenv)
  local url = args[1]
  local ws, err = remote.dial(url, { token = token_of(opts, env.getenv), cacert = opts.cacert })
  if not ws then exit_with(1, err) end
  local code, serr, kind = remote.terminal(ws, { url = url, detach_keys = keys })
  if code then return code end
  if serr == "detached" then exit_with(1, "read escape sequence") end
  -- the server's own failure (its engine, a timeout) as the engine's are; a lost connection as docker's
  exit_with((kind == "remote" or kind == "terminal" or kind == "transport" or kind == "config") and FAIL or 1, serr)
end

return M
