-- What the specs share: the engine they run against, the TLS material, clean-up, subprocesses.
local dockerpty = require "dockerpty"

local M = {}

M.state = os.getenv("DOCKERPTY_STATE") or "/var/lib/dockerpty-test"
M.tls = M.state .. "/tls"
M.tls_host = "tcp://127.0.0.1:2376"
M.label = "dockerpty.spec"
M.lua = os.getenv("LUA") or "lua5.4"

-- A client for the test engine; an engine that does not answer fails the spec, loudly.
function M.engine(opts)
  local c, err = dockerpty.client(opts)
  if c then
    local ok, perr = c:ping()
    if ok then return c end
    err = perr
  end
  error(("the test engine does not answer: %s (run scripts/engine, or make test)"):format(err), 2)
end

-- A busybox container that the spec's clean-up removes; body fields override the defaults.
function M.container(c, body, opts)
  body = body or {}
  body.Image = body.Image or "busybox"
  body.Labels = body.Labels or {}
  body.Labels[M.label] = "1"
  local r = assert(c:create_container(body, opts))
  return r.Id
end

-- Removes every container the specs created.
function M.cleanup(c)
  local list = assert(c:containers { all = true, filters = { label = { M.label } } })
  for _, ct in ipairs(list) do
    c:remove_container(ct.Id, { force = true })
  end
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.shell_quote = shell_quote

-- Runs a Lua chunk in a fresh interpreter with env (a table; false unsets a variable) set,
-- from the checkout, with the built core on its path. Returns its output and exit status.
function M.run_lua(code, env)
  local parts = { "env" }
  for k, v in pairs(env or {}) do
    if v == false then
      parts[#parts + 1] = "-u " .. k
    else
      parts[#parts + 1] = k .. "=" .. shell_quote(v)
    end
  end
  local prelude = ("package.path = './lua/?.lua;./lua/?/init.lua;' .. package.path; "
    .. "package.cpath = %q .. package.cpath; "):format(package.cpath:match("^[^;]*;"))
  parts[#parts + 1] = M.lua .. " -e " .. shell_quote(prelude .. code) .. " 2>&1"
  local p = assert(io.popen(table.concat(parts, " ")))
  local out = p:read("a")
  local _, _, status = p:close()
  return out, status
end

return M
