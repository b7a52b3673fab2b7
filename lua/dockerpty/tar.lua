-- Tar archives as a build context is sent: ustar, with pax extended headers for what ustar
-- cannot say (long names and link targets, large sizes and times, names past ASCII). The
-- headers are pure; directory() walks a tree and hands the archive out in chunks as it
-- reads, so that its memory stays bounded whatever the tree's size. A file's content is read
-- in C (core.tar_body), and can go from the file to a build's stream without passing here.
local core = require "dockerpty.core"

local M = {}

M.BLOCK = 512
M.CHUNK = 65536                      -- the most a chunk holds, and what a file is read by
M.TRAILER = ("\0"):rep(1024)         -- two zero blocks end an archive
local USTAR_MAX = 8 ^ 11 - 1         -- what 11 octal digits hold: sizes and times
local ID_MAX = 8 ^ 7 - 1             -- and 7: uids and gids

-- What a tree's entries are sent as; sockets, as docker's archive, are left out.
local TYPEFLAG = { file = "0", hardlink = "1", symlink = "2", char = "3", block = "4", directory = "5", fifo = "6" }

-- The zero bytes that bring size up to a whole block.
function M.padding(size)
  return ("\0"):rep((M.BLOCK - size % M.BLOCK) % M.BLOCK)
end

local ZEROS = {} -- ZEROS[n]: n NULs, made once for each n a field needs
for n = 0, 155 do ZEROS[n] = ("\0"):rep(n) end
local OCTAL = { [8] = "%07o\0", [12] = "%011o\0" }

local function field(s, width)
  if #s > width then s = s:sub(1, width) end
  return s .. ZEROS[width - #s]
end

local function octal(n, width)
  return OCTAL[width]:format(n)
end

local function ascii(s)
  return not s:find("[%z\128-\255]")
end

-- One ustar header block; its checksum is the sum of its bytes, the checksum field as spaces.
local function ustar(name, typeflag, mode, uid, gid, size, mtime, linkname, devmajor, devminor)
  local head = field(name, 100) .. octal(mode, 8) .. octal(uid, 8) .. octal(gid, 8)
    .. octal(size, 12) .. octal(mtime, 12)
  local tail = typeflag .. field(linkname or "", 100) .. "ustar\0" .. "00"
    .. field("", 32) .. field("", 32) .. octal(devmajor or 0, 8) .. octal(devminor or 0, 8) .. field("", 155)
  local block = head .. "        " .. tail
  local sum = core.tar_checksum(block)
  block = head .. ("%06o"):format(sum) .. "\0 " .. tail
  return block .. M.padding(#block)
end

-- "LEN key=value\n", where LEN counts the whole record, its own digits included.
local function pax_record(key, value)
  local body = " " .. key .. "=" .. value .. "\n"
  local n = #body + 1
  while #tostring(n) + #body ~= n do n = #tostring(n) + #body end
  return n .. body
end

-- header(entry) -> the bytes before an entry's data: a pax header first when ustar cannot
-- say it all. entry = {name =, type = "file"|"directory"|"symlink"|"hardlink"|"fifo"|"char"|
-- "block", mode =, size =, mtime =, uid =, gid =, linkname =, devmajor =, devminor =}; a
-- directory's name gets its "/"; a hard link's linkname is the name its file was sent under.
function M.header(e)
  local typeflag = TYPEFLAG[e.type]
  if not typeflag then error(("tar: cannot archive a %s: %s"):format(tostring(e.type), tostring(e.name)), 2) end
  local name = e.name
  if e.type == "directory" and name:sub(-1) ~= "/" then name = name .. "/" end
  local size = e.type == "file" and (e.size or 0) or 0
  local mtime, uid, gid = math.floor(e.mtime or 0), e.uid or 0, e.gid or 0
  local linkname = e.linkname or ""
  local records = {}
  if #name > 100 or not ascii(name) then records[#records + 1] = pax_record("path", name) end
  if #linkname > 100 or not ascii(linkname) then records[#records + 1] = pax_record("linkpath", linkname) end
  if size > USTAR_MAX then records[#records + 1] = pax_record("size", ("%.0f"):format(size)) end
  if mtime > USTAR_MAX or mtime < 0 then records[#records + 1] = pax_record("mtime", ("%.0f"):format(mtime)) end
  if uid > ID_MAX then records[#records + 1] = pax_record("uid", ("%.0f"):format(uid)) end
  if gid > ID_MAX then records[#records + 1] = pax_record("gid", ("%.0f"):format(gid)) end
  local out = ""
  if #records > 0 then
    local data = table.concat(records)
    local base = name:gsub("/$", ""):match("[^/]*$")
    local pax_name = ("PaxHeaders.0/" .. base):gsub("[%z\128-\255]", "_")
    out = ustar(pax_name, "x", 420, 0, 0, #data, math.max(0, math.min(mtime, USTAR_MAX))) .. data .. M.padding(#data)
  end
  local ascii_name = ascii(name) and name or name:gsub("[%z\128-\255]", "_")
  local ascii_link = ascii(linkname) and linkname or linkname:gsub("[%z\128-\255]", "_")
  return out .. ustar(ascii_name, typeflag, (e.mode or 0) % 4096, math.min(uid, ID_MAX), math.min(gid, ID_MAX),
    math.min(size, USTAR_MAX), math.max(0, math.min(mtime, USTAR_MAX)), ascii_link,
    math.min(e.devmajor or 0, ID_MAX), math.min(e.devminor or 0, ID_MAX))
end

-- file(entry, data) -> the whole entry for bytes held in memory (a Dockerfile given as text).
function M.file(e, data)
  local entry = { name = e.name, type = "file", mode = e.mode or 420, size = #data, mtime = e.mtime or os.time(),
    uid = e.uid, gid = e.gid }
  return M.header(entry) .. data .. M.padding(#data)
end

-- directory(root, {filter =, extra =, owner =, bodies =}) -> next: each call gives the next
-- chunk (at most CHUNK bytes, bar one header), nil at the end, or nil, message when reading
-- failed. filter(rel, st) -> true (archive it), false (leave it out, and what is under it), or
-- "descend" (a directory left out whose entries are still looked at). extra: {{name =,
-- data =}, ...} files added after the tree. Owners are 0:0 unless owner = true, as docker
-- sends a context. A file with more than one link is sent once, its other names as hard links
-- to the first. With bodies = true a file comes as a core.tar_body instead (the chunk before
-- it, its header, its content and padding), which the caller sends or reads, then closes.
function M.directory(root, opts)
  opts = opts or {}
  local filter = opts.filter or function() return true end
  local pending, held = {}, 0
  local seen = {} -- "dev:ino" -> the name a file with other links was first sent under
  local co

  local function emit(s)
    pending[#pending + 1] = s
    held = held + #s
    if held >= M.CHUNK then
      local chunk = table.concat(pending)
      pending, held = {}, 0
      coroutine.yield(chunk)
    end
  end

  local function fail(msg) error({ msg }, 0) end

  local function add(path, rel, st)
    local e = { name = rel, type = st.type, mode = st.mode, size = st.size, mtime = st.mtime,
      uid = opts.owner and st.uid or 0, gid = opts.owner and st.gid or 0,
      devmajor = st.devmajor, devminor = st.devminor }
    if st.type ~= "directory" and st.nlink > 1 then
      local key = st.dev .. ":" .. st.ino
      if seen[key] then
        e.type, e.linkname, e.size = "hardlink", seen[key], 0
        return emit(M.header(e))
      end
      seen[key] = rel
    end
    if st.type == "symlink" then
      local target, err = core.readlink(path)
      if not target then fail(err) end
      e.linkname = target
      emit(M.header(e))
    elseif st.type == "file" and st.size > 0 then
      if opts.bodies then
        local body, err = core.tar_body(path, st.size, table.concat(pending) .. M.header(e))
        if not body then fail(err) end
        pending, held = {}, 0
        coroutine.yield(body)
        return
      end
      emit(M.header(e))
      local body, err = core.tar_body(path, st.size)
      if not body then fail(err) end
      while true do
        local data, rerr = body:read()
        if not data then
          body:close()
          if rerr then fail(rerr) end
          break
        end
        emit(data)
      end
    else
      emit(M.header(e))
    end
  end

  local function walk(dir, prefix)
    local names, err = core.dir(dir)
    if not names then fail(err) end
    for _, name in ipairs(names) do
      local path, rel = dir .. "/" .. name, prefix .. name
      local st, serr = core.lstat(path)
      if not st then fail(serr) end
      if TYPEFLAG[st.type] then
        local keep = filter(rel, st)
        if keep == true then add(path, rel, st) end
        if st.type == "directory" and keep then walk(path, rel .. "/") end
      end
    end
  end

  co = coroutine.create(function()
    local st, err = core.lstat(root)
    if not st then fail(err) end
    if st.type ~= "directory" then fail(root .. ": not a directory") end
    walk(root, "")
    for _, x in ipairs(opts.extra or {}) do emit(M.file(x, x.data)) end
    emit(M.TRAILER)
    if held > 0 then coroutine.yield(table.concat(pending)) end
  end)

  return function()
    if coroutine.status(co) == "dead" then return nil end
    local ok, chunk = coroutine.resume(co)
    if not ok then
      if type(chunk) == "table" then return nil, chunk[1] end
      error(chunk, 0)
    end
    return chunk
  end
end

return M
