-- The harpoon tutorial's first steps with dockerpty alone: the engine's info as indented
-- JSON, an image built from a Dockerfile given as a string, a container of it run in this
-- terminal, then both removed. LABEL=key=value labels what it makes (for clean-up by label).
local dockerpty = require "dockerpty"

-- Indented JSON, keys sorted so the output reads the same each time.
local function pretty(v, indent)
  indent = indent or ""
  local inner = indent .. "    "
  if type(v) == "table" and v ~= dockerpty.null then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    if #keys == 0 then return getmetatable(v) and "[]" or "{}" end
    local parts = {}
    if #v == #keys then
      for _, x in ipairs(v) do parts[#parts + 1] = inner .. pretty(x, inner) end
      return "[\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "]"
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      parts[#parts + 1] = inner .. dockerpty.json.encode(tostring(k)) .. ": " .. pretty(v[k], inner)
    end
    return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
  end
  return dockerpty.json.encode(v)
end

local client = assert(dockerpty.client())
print(pretty(assert(client:info())))

local tag = os.getenv("HARPOON_TAG") or "local/harpoon"
local label = os.getenv("LABEL")
local labels = {}
if label then
  local k, v = label:match("^([^=]*)=?(.*)$")
  labels[k] = v
end
local dockerfile = table.concat({
  "FROM busybox",
  "RUN echo 'lolz from the image' > /message",
  "CMD cat /message",
}, "\n")

-- The context is an empty tar: the Dockerfile, sent inside it, is all the build needs.
-- The build's output as the tutorial prints it: each line as it comes.
local image = assert(client:build(require("dockerpty.tar").TRAILER, {
  tag = tag, dockerfile_text = dockerfile, labels = labels,
  on_output = function(message) if message.stream then io.write(message.stream) end end,
}))

local container = assert(client:create_container {
  Image = image, Tty = true, OpenStdin = true, StdinOnce = true, Labels = labels,
})
local code, err = dockerpty.start(client, container.Id)
assert(client:remove_container(container.Id))
assert(client:remove_image(tag))
if not code then error(err, 0) end
os.exit(code)
