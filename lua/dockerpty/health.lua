-- :checkhealth dockerpty: does the core load, which engine answers, and its API version.
local M = {}

local health = vim.health or require "health"
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error_ = health.error or health.report_error

function M.check()
  start("dockerpty")
  local loaded, core = pcall(require, "dockerpty.core")
  if not loaded then
    error_("the core does not load: " .. tostring(core):gsub("\n.*", ""),
      { "build it for LuaJIT: make LUA_VERSION=luajit (in the plugin's directory)" })
    return
  end
  ok("core " .. core._VERSION .. " loads (" .. (jit and jit.version or _VERSION) .. ")")
  local dockerpty = require "dockerpty"
  local client, err = dockerpty.client()
  if not client then
    error_(err, { "set DOCKER_HOST, or start the engine" })
    return
  end
  local pong, perr = client:ping()
  if not pong then
    error_(perr, { "is the engine running? scripts/engine starts the test engine" })
    return
  end
  local v, verr = client:negotiate()
  if not v then
    error_(verr)
    return
  end
  local version = client:version() or {}
  ok(("engine %s answers at %s, API %s (engine %s)"):format(version.Version or "?", client.endpoint, v,
    version.ApiVersion or "?"))
  if vim.fn.has("nvim-0.7") == 0 then warn("Neovim 0.7 or newer is needed") end
  client:close()
end

return M
