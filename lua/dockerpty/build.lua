-- client:build: a context (a directory, tar bytes, or a function that hands out tar chunks)
-- streamed up in chunks while the classic builder's JSON lines stream down. Loading this
-- module adds it to the Client class.
local core = require "dockerpty.core"
local client = require "dockerpty.client"
local jsonlines = require "dockerpty.jsonlines"
local tar = require "dockerpty.tar"
local dockerignore = require "dockerpty.dockerignore"

local M = {}
local unpack = table.unpack or unpack
local Client, check, escape = client.Client, client.check, client.escape

-- Reads a small file whole (.dockerignore); nil, message when it cannot.
local function slurp(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local data = f:read("*a")
  f:close()
  if not data then return nil, path .. ": cannot be read" end
  return data
end

local function random_name()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(10) or tostring(os.time() + os.clock())
  if f then f:close() end
  return ".dockerfile." .. bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end):sub(1, 20)
end

-- Does a path relative to the context stay inside it?
local function inside(rel)
  local clean = dockerignore.clean(rel)
  return clean ~= ".." and clean:sub(1, 3) ~= "../" and clean:sub(1, 1) ~= "/"
end

-- The chunks of a directory context, as docker sends one: .dockerignore honoured (the
-- Dockerfile and .dockerignore kept), a Dockerfile given as text added under a name of its
-- own that .dockerignore then names, so COPY never takes it. Each file comes as a
-- core.tar_body, whose bytes go from the file to the stream in C. -> next, dockerfile | nil, message
function M.directory_context(dir, opts)
  local st, err = core.lstat(dir)
  if not st then return nil, "unable to prepare context: " .. err end
  if st.type ~= "directory" then
    return nil, ("unable to prepare context: context must be a directory: %s"):format(dir)
  end
  local dockerfile = opts.dockerfile
  if opts.dockerfile_text == nil then
    dockerfile = dockerfile or "Dockerfile"
    if not inside(dockerfile) then
      return nil, ("unable to prepare context: the Dockerfile (%s) must be within the build context"):format(dockerfile)
    end
    local dst = core.lstat(dir .. "/" .. dockerfile)
    if not dst and not opts.dockerfile then -- docker's fallback to a lower-case name
      if core.lstat(dir .. "/dockerfile") then dockerfile, dst = "dockerfile", true end
    end
    if not dst then
      return nil, ("unable to prepare context: Cannot locate specified Dockerfile: %s"):format(dockerfile)
    end
    dockerfile = dockerignore.clean(dockerfile)
  end
  local ignore_text = ""
  if core.lstat(dir .. "/.dockerignore") then
    local rerr
    ignore_text, rerr = slurp(dir .. "/.dockerignore")
    if not ignore_text then return nil, "unable to prepare context: " .. rerr end
  end
  local patterns = dockerignore.keep_build_files(dockerignore.read(ignore_text),
    opts.dockerfile_text == nil and dockerfile or nil)
  local matcher, merr = dockerignore.new(patterns)
  if not matcher then return nil, ("error checking context: %s in %s/.dockerignore"):format(merr, dir) end
  local filter, extra = matcher:filter(), nil
  if opts.dockerfile_text ~= nil then
    dockerfile = random_name()
    local base = filter
    filter = function(rel, est)
      if rel == ".dockerignore" then return false end -- sent again below, naming the Dockerfile
      return base(rel, est)
    end
    extra = {
      { name = dockerfile, data = opts.dockerfile_text, mode = 384 },
      { name = ".dockerignore", data = ignore_text .. "\n" .. dockerfile .. "\n", mode = 384 },
    }
  end
  return tar.directory(dir, { filter = filter, extra = extra, bodies = true }), dockerfile
end

-- Tar bytes as the context, cut in chunks; a Dockerfile given as text goes in before the end.
local function bytes_context(data, opts)
  local dockerfile = opts.dockerfile
  if opts.dockerfile_text ~= nil then
    dockerfile = random_name()
    local cut = #data
    while cut >= tar.BLOCK and data:sub(cut - tar.BLOCK + 1, cut) == ("\0"):rep(tar.BLOCK) do
      cut = cut - tar.BLOCK
    end
    data = data:sub(1, cut) .. tar.file({ name = dockerfile, mode = 384 }, opts.dockerfile_text) .. tar.TRAILER
  end
  local pos = 1
  return function()
    if pos > #data then return nil end
    local chunk = data:sub(pos, pos + tar.CHUNK - 1)
    pos = pos + #chunk
    return chunk
  end, dockerfile
end

-- The build's query: docker's parameters, the classic builder, and rm/forcerm on as docker
-- sends them, so a step that fails leaves no container.
local function build_query(opts, dockerfile)
  local q = {
    dockerfile = dockerfile, buildargs = opts.buildargs, labels = opts.labels,
    nocache = opts.nocache or nil, pull = opts.pull or nil, target = opts.target,
    networkmode = opts.networkmode, q = opts.quiet or nil,
    rm = opts.rm ~= false, forcerm = opts.forcerm ~= false, version = "1",
  }
  local s = client.query_string(q)
  local tags = type(opts.tag) == "table" and opts.tag or { opts.tag }
  for _, t in ipairs(tags) do s = s .. "&t=" .. escape(t) end
  return s
end

-- What comes back: the head, a body chunked or not, then JSON lines. Pure apart from on_output.
local function answer_reader(on_message)
  local buf, head, chunked, status, ctype = "", false, false, nil, nil
  local body, lines = {}, jsonlines.splitter()
  local need = nil -- bytes left in the current chunk, nil when a size line is next
  local self = {}

  local function body_bytes(data)
    if status ~= 200 then
      body[#body + 1] = data
      return true
    end
    local got, err = lines:feed(data)
    if not got then return nil, err end
    for _, line in ipairs(got) do
      local ok, merr = on_message(line)
      if not ok then return nil, merr end
    end
    return true
  end

  -- feed(bytes) -> true | nil, message
  function self.feed(data)
    buf = buf .. data
    if not head then
      local n, st, h = core.parse_head(buf)
      if n == nil then return nil, "the engine answered with something other than HTTP" end
      if n == 0 then
        if #buf > 65536 then return nil, "the engine's answer has a head of more than 64 KiB" end
        return true
      end
      head, status, chunked, ctype = true, st, h.chunked, h.content_type
      buf = buf:sub(n + 1)
    end
    if not chunked then
      local all = buf
      buf = ""
      return body_bytes(all)
    end
    while true do
      if need == nil then
        local line_end = buf:find("\r\n", 1, true)
        if not line_end then return true end
        local size = tonumber(buf:sub(1, line_end - 1):match("^%x+"), 16)
        if not size then return nil, "the engine's chunked answer is broken" end
        buf = buf:sub(line_end + 2)
        if size == 0 then
          self.done = true
          return true
        end
        need = size
      end
      if #buf < need + 2 then
        if #buf > need then return true end -- the chunk's CRLF is still to come
        local ok, err = body_bytes(buf)
        need = need - #buf
        buf = ""
        return ok, err
      end
      local ok, err = body_bytes(buf:sub(1, need))
      if not ok then return nil, err end
      buf = buf:sub(need + 3)
      need = nil
    end
  end

  -- finish() -> status, content_type, error body | nil, message
  function self.finish()
    if not head then return nil, "the engine closed the connection before answering" end
    if status == 200 then
      local last = lines:finish()
      if last then
        local ok, err = on_message(last)
        if not ok then return nil, err end
      end
    end
    return status, ctype, table.concat(body)
  end

  return self
end

-- build(context, {tag =, dockerfile =, dockerfile_text =, buildargs =, nocache =, pull =,
--   labels =, target =, networkmode =, quiet =, rm =, forcerm =, registry_config =,
--   on_output = function(message) end}) -> image id | nil, message, code
-- context: a directory's path, tar bytes (a string with NULs, as every tar has), or a function
-- that returns the next chunk of a tar, nil at its end (or nil, message).
function Client:build(context, opts)
  opts = opts or {}
  check(type(context) == "string" or type(context) == "function", 1, "build",
    "a directory's path, tar bytes or a function handing out tar chunks expected")
  check(type(opts) == "table", 2, "build", "table expected, as {tag = \"app:1\"}")
  check(opts.tag == nil or type(opts.tag) == "string" or type(opts.tag) == "table", 2, "build",
    "tag must be a string or a list of strings")
  for _, k in ipairs { "dockerfile", "dockerfile_text", "target", "networkmode" } do
    check(opts[k] == nil or type(opts[k]) == "string", 2, "build", k .. " must be a string")
  end
  for _, k in ipairs { "buildargs", "labels" } do
    check(opts[k] == nil or type(opts[k]) == "table", 2, "build", k .. " must be a table of names to strings")
  end
  check(opts.registry_config == nil or type(opts.registry_config) == "table" or type(opts.registry_config) == "string",
    2, "build", "registry_config must be a table or an encoded X-Registry-Config string")
  check(opts.on_output == nil or type(opts.on_output) == "function", 2, "build", "on_output must be a function")
  check(not (opts.dockerfile and opts.dockerfile_text), 2, "build", "dockerfile and dockerfile_text exclude each other")

  local next_chunk, dockerfile
  if type(context) == "function" then
    next_chunk, dockerfile = context, opts.dockerfile
    if opts.dockerfile_text ~= nil then
      return nil, "build: dockerfile_text needs a directory or tar bytes as the context", "config"
    end
  elseif context:find("\0", 1, true) then -- no path has a NUL, every tar does
    next_chunk, dockerfile = bytes_context(context, opts)
  else
    next_chunk, dockerfile = M.directory_context(context, opts)
    if not next_chunk then return nil, dockerfile, "context" end
  end

  local v, err, code = self:negotiate()
  if not v then return nil, err, code end
  local headers = { ["Transfer-Encoding"] = "chunked" }
  if opts.registry_config ~= nil then
    local rc = opts.registry_config
    if type(rc) == "table" then rc = require("dockerpty.image").base64url(core.json_encode(rc)) end
    headers["X-Registry-Config"] = rc
  end
  local stream, serr, scode = core.hijack(self.transport, "/v" .. v .. "/build" .. build_query(opts, dockerfile),
    nil, "application/x-tar", false, true, "POST", headers)
  if not stream then return nil, serr, scode end

  local on_output, image_id, short_id, failure = opts.on_output, nil, nil, nil
  local function on_message(line)
    local msg, jerr = core.json_decode(line)
    if type(msg) ~= "table" then return nil, (jerr or "not a JSON object") .. " in the build's answer" end
    if on_output then on_output(msg) end
    if type(msg.aux) == "table" and type(msg.aux.ID) == "string" then image_id = msg.aux.ID end
    if type(msg.stream) == "string" then
      short_id = msg.stream:match("^Successfully built (%x+)") or short_id
      if opts.quiet then image_id = msg.stream:match("^(sha256:%x+)") or image_id end
    end
    local detail = type(msg.errorDetail) == "table" and msg.errorDetail.message
    if (msg.error or detail) and not failure then
      failure = tostring(detail or msg.error):gsub("%s+$", ""):gsub("\n", " ")
    end
    return true
  end
  local reader = answer_reader(on_message)

  -- Reads whatever has come; -> true | false at the end | nil, message, code
  local function drain(wait_ms)
    while true do
      local data, rerr, rcode = stream:read(65536, wait_ms)
      if data == nil then
        if rerr then return nil, rerr, rcode end
        return false
      end
      if data == false then return true end
      local ok, ferr = reader.feed(data)
      if not ok then return nil, ferr, "json" end
      wait_ms = 0
    end
  end

  -- Waits until the stream can take more, reading the answer meanwhile so that neither side
  -- waits on the other; the answer is read only then, not after each chunk.
  local function wait_writable()
    core.poll({ { stream:fileno(), "rw" } }, 1000)
    return drain(0)
  end

  -- Sends all of s as one chunk of the body.
  local function send_all(s)
    local pos = 1
    while pos <= #s do
      local n, werr, wcode = stream:send(pos == 1 and s or s:sub(pos))
      if not n then return nil, werr, wcode end
      pos = pos + n
      if n == 0 then
        local ok, rerr, rcode = wait_writable()
        if ok == nil then return nil, rerr, rcode end
      end
    end
    return true
  end

  -- Sends a file's part of the tar, from the file to the stream in C.
  local function send_body(body)
    while true do
      local done, werr, wcode = body:send(stream)
      if done then return true end
      if done == nil then return nil, werr, wcode end
      local ok, rerr, rcode = wait_writable()
      if ok == nil then return nil, rerr, rcode end
    end
  end

  local result = { pcall(function()
    local write_failed
    while true do
      local chunk, cerr = next_chunk()
      if chunk == nil and cerr then return nil, "error checking context: " .. cerr, "context" end
      local ok, werr, wcode
      if type(chunk) == "userdata" then
        ok, werr, wcode = send_body(chunk)
        chunk:close()
        if not ok and wcode == "context" then return nil, "error checking context: " .. werr, "context" end
      elseif chunk ~= "" then
        ok, werr, wcode = send_all(chunk and ("%x\r\n"):format(#chunk) .. chunk .. "\r\n" or "0\r\n\r\n")
      else
        ok = true
      end
      if not ok then
        write_failed = { werr, wcode } -- the engine may have said why: read its answer first
        break
      end
      if not chunk then break end
    end
    while not reader.done do
      local ok, rerr, rcode = drain(-1)
      if ok == nil then return nil, rerr, rcode end
      if ok == false then break end
    end
    local status, ctype, ebody = reader.finish()
    if not status then
      if write_failed then return nil, write_failed[1], write_failed[2] end
      return nil, ctype, "transport"
    end
    if status ~= 200 then
      local doc = (ctype or ""):find("json", 1, true) and core.json_decode(ebody)
      local m = type(doc) == "table" and type(doc.message) == "string" and doc.message
        or (ebody:gsub("%s+$", "") ~= "" and ebody:gsub("%s+$", "")) or ("the engine answered HTTP %d"):format(status)
      return nil, (m:gsub("%s+$", ""):gsub("\n", " ")), status
    end
    if failure then return nil, failure, "build" end
    if write_failed then return nil, write_failed[1], write_failed[2] end
    if image_id then return image_id end
    if short_id then
      local info, ierr, icode = self:inspect_image(short_id)
      if not info then return nil, ierr, icode end
      return info.Id
    end
    return nil, "the build ended without naming an image", "build"
  end) }
  stream:close()
  if not result[1] then error(result[2], 0) end -- on_output's own error, once the connection is closed
  return unpack(result, 2, 4)
end

return M
