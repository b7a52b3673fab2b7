-- The pump's ceiling with no engine: ours reads a hijacked "attach" from bench/sink (which
-- answers 101 and then writes raw-stream bytes as fast as a socket takes them) and pumps it
-- to /dev/null, as a tty session would pump it to a terminal.
--
--   lua5.4 bench/pump_ceiling.lua SOCKET
-- prints "BYTES SECONDS CPU_SECONDS" (from the first pumped byte's request to the end).
local dockerpty = require "dockerpty"
local core = require "dockerpty.core"
local bench = require "benchlib"

local path = assert(arg[1], "usage: pump_ceiling.lua SOCKET")
local client = assert(dockerpty.client { host = "unix://" .. path, api_version = "1.41" })
local s = assert(client:attach_socket("x"))
local null = assert(io.open("/dev/null", "w"))

-- Counting bytes needs them to go somewhere countable; the pump's own path to an fd is what
-- is measured, so the count comes from the sink's size, checked by the caller.
local pump = core.pump(s, { stdout = core.fileno(null), tty = true })
local c0, t0 = os.clock(), bench.now()
while true do
  local ev, err = pump:run()
  if ev == "end" then break end
  if ev == nil then error("pump: " .. tostring(err)) end
end
local t1, c1 = bench.now(), os.clock()
s:close()
io.write(("%d %.6f %.6f\n"):format(tonumber(arg[2]) or 0, t1 - t0, c1 - c0))
