-- The gateway's ceiling with no engine: core.listen and core.gateway as a gateway has them,
-- and each upgrade's stream an "attach" to bench/sink (which answers 101 and then writes
-- raw-stream bytes as fast as a socket takes them) in place of the engine's exec, so that
-- what is measured is the gateway's path from a stream to WebSocket frames alone.
--
--   lua5.4 bench/gateway_ceiling.lua SINK_SOCKET TOKEN
-- prints "listening PORT", serves one session, then "CPU_SECONDS" (the process's, that session's).
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"

local path, token = assert(arg[1], "usage: gateway_ceiling.lua SINK_SOCKET TOKEN"), arg[2]
local client = assert(dockerpty.client { host = "unix://" .. path, api_version = "1.41" })
local l = assert(core.listen("127.0.0.1:0"))
-- The gateway drops a client whose queue passes max_pending rather than pausing the stream:
-- at a sink's speed a moment's stall of the reader would pass the default 1 MiB.
local gw = assert(core.gateway(l, { max_pending = 64 * 1024 * 1024 }))
io.stdout:write("listening ", l:address():match(":(%d+)$"), "\n")
io.stdout:flush()

local c0
while true do
  for _, ev in ipairs(gw:run(1)) do
    if ev.kind == "request" then
      if ev.headers.authorization ~= "Bearer " .. token then
        gw:respond(ev.conn, 401, {}, "")
      else
        c0 = os.clock()
        local s = assert(client:attach_socket("x"))
        assert(gw:upgrade(ev.conn, { stream = s, tty = true, protocol = "v5.channel.k8s.io" }))
      end
    elseif ev.kind == "ended" then
      gw:close(ev.session, 1000, "")
      local t = os.clock() - c0
      for _ = 1, 20 do gw:run(0.05) end -- the close frame out
      io.stdout:write(("%.6f\n"):format(t))
      os.exit(0)
    end
  end
end
