-- dockerpty serve: the gateway's flags checked (gateway/options), its tokens loaded or one
-- made and printed in the address to open, the listener bound, and gateway/server's loop run
-- until SIGINT, SIGTERM or SIGHUP, which close every session with 1001.
local core = require "dockerpty.core"
local base = require "dockerpty.cli.base"
local options = require "dockerpty.gateway.options"
local tokens = require "dockerpty.gateway.tokens"
local server = require "dockerpty.gateway.server"
local sel = require "dockerpty.select"

local FAIL, exit_with, fail = base.FAIL, base.exit_with, base.fail

local M = {}

local STOPS = { [2] = true, [15] = true, [1] = true } -- SIGINT, SIGTERM, SIGHUP

local function log(text)
  io.stderr:write("dockerpty serve: ", sel.printable(text), "\n")
  io.stderr:flush()
end

local function handler(client, opts)
  local settings, err = options.validate(opts)
  if not settings then exit_with(FAIL, err) end
  local set, token
  if settings.tokens then
    local warnings
    set, warnings = tokens.load(settings.tokens)
    if not set then exit_with(FAIL, warnings) end
    for _, w in ipairs(warnings) do io.stderr:write("WARNING: ", sel.printable(w), "\n") end
  else
    token, set = tokens.generate()
  end
  local ok, perr, pcode = client:ping()
  if not ok then fail(perr, pcode) end
  local tls = settings.tls
  local listener, lerr = core.listen(settings.listen.address,
    tls and { tls_cert = tls.cert, tls_key = tls.key, tls_client_ca = tls.client_ca } or nil)
  if not listener then exit_with(FAIL, lerr) end
  local gw, gerr = core.gateway(listener, {
    max_connections = settings.max_sessions + 1024,
    max_body = server.MAX_LOGIN_BODY,
    idle_timeout = settings.idle_timeout,
  })
  if not gw then listener:close(); exit_with(FAIL, gerr) end
  local srv = server.new { gateway = gw, listener = listener, client = client, tokens = set,
    settings = settings, log = log }
  local bound = listener:address()
  log(("listening on %s%s, engine %s"):format(bound, tls and " (TLS)" or "", client.endpoint))
  if settings.listen.kind == "tcp" then
    local port = tonumber(bound:match(":(%d+)$"))
    -- options.url's address, without the fragment when there is no token of ours to give
    io.stdout:write(token and options.url(settings, token, port) or options.url(settings, "", port):gsub("#token=$", ""), "\n")
  elseif token then
    io.stdout:write(token, "\n")
  end
  io.stdout:flush()
  local _, was_on = core.signals(true)
  local run_ok, run_err = pcall(function()
    while true do
      if srv:step(1) then
        local stop
        for _, sig in ipairs(core.pending_signals()) do stop = stop or STOPS[sig] and sig end
        if stop then
          log(("stopping (signal %d): closing %d sessions"):format(stop, srv:sessions()))
          return
        end
      end
    end
  end)
  srv:stop()
  listener:close()
  if not was_on then core.signals(false) end
  if not run_ok then error(run_err, 0) end
  log("stopped")
  return 0
end

M.serve = {}
for k, v in pairs(options.command) do M.serve[k] = v end
M.serve.handler = handler

return M
