-- A small gateway for the specs of dockerpty connect, until dockerpty serve comes: core.listen,
-- core.gateway and a real exec for each upgrade, on doc/gateway.md's route
-- /api/exec/{container}?cmd=...&tty=1&width=&height=, with one bearer token. It forwards
-- resizes to the exec and sends its exit status on channel 3, then closes with 1000.
--   lua mini_gateway.lua TOKEN [CERT KEY]
-- prints "listening ws[s]://127.0.0.1:PORT" and serves until killed.
local core = require "dockerpty.core"
local dockerpty = require "dockerpty"
local session = require "dockerpty.session"

local token, cert, key = arg[1], arg[2], arg[3]
local PROTOCOL = "v5.channel.k8s.io"

local c = assert(dockerpty.client())
local l = assert(core.listen("127.0.0.1:0", cert and { tls_cert = cert, tls_key = key } or nil))
-- room for the 8 MB spec's whole burst: what is checked here is the client's delivery, not
-- the gateway's dropping of a reader slower than its container (gateway_spec checks that)
local gw = assert(core.gateway(l, { max_message = 1024 * 1024, max_pending = 16 * 1024 * 1024 }))
io.stdout:write(("listening %s://%s\n"):format(cert and "wss" or "ws", l:address()))
io.stdout:flush()

local execs = {} -- session -> exec id

local function unescape(s)
  return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function one_line(conn, status, msg)
  gw:respond(conn, status, { ["Content-Type"] = "text/plain; charset=utf-8" }, msg .. "\n")
end

local function resize(id, h, w)
  for attempt = 1, 20 do
    if c:exec_resize(id, h, w) then return end
    core.sleep(attempt * 0.005)
  end
end

local function request(ev)
  if ev.headers.authorization ~= "Bearer " .. token then
    return gw:respond(ev.conn, 401, { ["WWW-Authenticate"] = "Bearer" }, "")
  end
  local ref, query = ev.target:match("^/api/exec/([^/?]+)%??(.*)$")
  if not ref then return one_line(ev.conn, 404, "404 page not found") end
  local offered = false
  for p in (ev.headers["sec-websocket-protocol"] or ""):gmatch("[^,%s]+") do offered = offered or p == PROTOCOL end
  if not offered then return one_line(ev.conn, 400, "the upgrade must offer " .. PROTOCOL) end
  local cmd, q = {}, {}
  for k, v in query:gmatch("([^&=]+)=([^&]*)") do
    if k == "cmd" then cmd[#cmd + 1] = unescape(v) else q[k] = unescape(v) end
  end
  if not cmd[1] then return one_line(ev.conn, 400, "no cmd") end
  local tty = q.tty == "1"
  local ex, err, code = c:exec_create(unescape(ref), { Cmd = cmd, AttachStdin = true, AttachStdout = true,
    AttachStderr = true, Tty = tty, DetachKeys = session.engine_detach_keys("", true) }) -- the client's keys, not the engine's
  if not ex then return one_line(ev.conn, code == 404 and 404 or code == 409 and 409 or 502, err) end
  local s, serr = c:exec_socket(ex.Id, { tty = tty })
  if not s then return one_line(ev.conn, 502, serr) end
  local sid = assert(gw:upgrade(ev.conn, { stream = s, tty = tty, protocol = PROTOCOL }))
  execs[sid] = ex.Id
  if tty and tonumber(q.width) and tonumber(q.height) then resize(ex.Id, tonumber(q.height), tonumber(q.width)) end
end

local function status_json(id)
  for attempt = 1, 100 do
    local info, err = c:exec_inspect(id)
    if not info then
      return core.json_encode({ metadata = {}, status = "Failure", reason = "InternalError", message = err })
    end
    if not info.Running then
      local code = info.ExitCode
      if code == 0 then return '{"metadata":{},"status":"Success","exit_code":0}' end
      return ('{"metadata":{},"status":"Failure","reason":"NonZeroExitCode","message":"command terminated with '
        .. 'non-zero exit code","details":{"causes":[{"reason":"ExitCode","message":"%d"}]},"exit_code":%d}'):format(code, code)
    end
    core.sleep(math.min(attempt, 10) * 0.005)
  end
  return '{"metadata":{},"status":"Failure","reason":"InternalError","message":"the exec still runs"}'
end

while true do
  for _, ev in ipairs(gw:run(1)) do
    if ev.kind == "request" then
      request(ev)
    elseif ev.kind == "resize" and execs[ev.session] then
      resize(execs[ev.session], ev.height, ev.width)
    elseif ev.kind == "ended" then
      local id = execs[ev.session]
      execs[ev.session] = nil
      if ev.why == "engine" and id then
        gw:send_status(ev.session, status_json(id))
        gw:close(ev.session, 1000, "")
      elseif ev.why == "error" then
        gw:send_status(ev.session, core.json_encode({ metadata = {}, status = "Failure", reason = "InternalError",
          message = ev.message or "the engine failed" }))
        gw:close(ev.session, 1011, "")
      end
    end
  end
end
