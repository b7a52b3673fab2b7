-- base64url without padding (RFC 4648 section 5), as tokens and Kubernetes' bearer
-- subprotocol entry carry bytes. Arithmetic only, so that Lua 5.1 and LuaJIT read it too.
local floor = math.floor

local M = {}

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local CHAR, VALUE = {}, {}
for i = 1, 64 do
  local c = ALPHABET:sub(i, i)
  CHAR[i - 1], VALUE[c:byte()] = c, i - 1
end

-- encode(bytes) -> text
function M.encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    out[#out + 1] = CHAR[floor(n / 262144)] .. CHAR[floor(n / 4096) % 64]
      .. (b and CHAR[floor(n / 64) % 64] or "") .. (c and CHAR[n % 64] or "")
  end
  return table.concat(out)
end

-- decode(text) -> bytes | nil: padding refused, and the bits past the last byte must be zero,
-- so that one string of bytes has one encoding.
function M.decode(s)
  local len = #s
  if len % 4 == 1 then return nil end
  local out = {}
  for i = 1, len, 4 do
    local n, count = 0, 0
    for j = i, math.min(i + 3, len) do
      local v = VALUE[s:byte(j)]
      if not v then return nil end
      n, count = n * 64 + v, count + 1
    end
    for _ = count + 1, 4 do n = n * 64 end
    local a, b, c = floor(n / 65536), floor(n / 256) % 256, n % 256
    if count == 4 then
      out[#out + 1] = string.char(a, b, c)
    elseif count == 3 then
      if c ~= 0 then return nil end
      out[#out + 1] = string.char(a, b)
    else
      if b ~= 0 or c ~= 0 then return nil end
      out[#out + 1] = string.char(a)
    end
  end
  return table.concat(out)
end

return M
