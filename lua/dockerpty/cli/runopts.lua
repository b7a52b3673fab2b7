-- run's flags for what the container gets (mounts, ports, limits, capabilities, restart), read
-- as the docker CLI reads them and put into the create body as it sends them. Pure but for
-- --env-file, which reads the file.
local M = {}

local BOOLS = {}
for _, w in ipairs { "1", "t", "T", "TRUE", "true", "True" } do BOOLS[w] = true end
for _, w in ipairs { "0", "f", "F", "FALSE", "false", "False" } do BOOLS[w] = false end

local function split(s, sep)
  local out, from = {}, 1
  while true do
    local i = s:find(sep, from, true)
    if not i then out[#out + 1] = s:sub(from); return out end
    out[#out + 1] = s:sub(from, i - 1)
    from = i + #sep
  end
end

-- A flag's value refused as cobra words it, the flag shown with its shorthand when it has one.
local function bad_arg(value, shown, err)
  return ('invalid argument "%s" for "%s" flag: %s'):format(value, shown, err)
end

-- IP addresses as Go's net.ParseIP takes them: dotted quads without leading zeros, IPv6 with
-- one "::" at most and an IPv4 tail.
local function ipv4(s)
  local parts = split(s, ".")
  if #parts ~= 4 then return false end
  for _, p in ipairs(parts) do
    if not p:match("^%d%d?%d?$") or (#p > 1 and p:sub(1, 1) == "0") or tonumber(p) > 255 then return false end
  end
  return true
end

local function ipv6_groups(part, v4_tail)
  if part == "" then return 0 end
  local items, n = split(part, ":"), 0
  for i, g in ipairs(items) do
    if i == #items and v4_tail and g:find(".", 1, true) then
      if not ipv4(g) then return nil end
      n = n + 2
    elseif g:match("^%x%x?%x?%x?$") then
      n = n + 1
    else
      return nil
    end
  end
  return n
end

local function ipv6(s)
  local head, tail = s:match("^(.-)::(.*)$")
  if not head then return ipv6_groups(s, true) == 8 end
  if tail:find("::", 1, true) or tail:sub(1, 1) == ":" then return false end
  local a, b = ipv6_groups(head, false), ipv6_groups(tail, true)
  return a ~= nil and b ~= nil and a + b <= 7
end

local function is_ip(s) return ipv4(s) or ipv6(s) end
M.is_ip = is_ip

-- Sizes as docker's RAMInBytes: a decimal number, then b, k, m, g, t or p (1024s), an optional
-- i and b after the letter, a space allowed before it.
local UNITS = { k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4, p = 1024 ^ 5 }
function M.ram_in_bytes(s)
  local sep
  for i = #s, 1, -1 do
    if s:sub(i, i):find("[%d%. ]") then sep = i; break end
  end
  if not sep then return nil, ("invalid size: '%s'"):format(s) end
  local num, sfx = s:sub(1, sep), s:sub(sep + 1)
  if s:sub(sep, sep) == " " then num = s:sub(1, sep - 1) end
  local size = (num:match("^%d*%.?%d*$") or num:match("^%d*%.?%d*[eE][+-]?%d+$")) and num:find("%d") and tonumber(num)
  if not size then return nil, ('strconv.ParseFloat: parsing "%s": invalid syntax'):format(num) end
  local function whole(x) return math.floor(x + 0) end
  if sfx == "" then return whole(size) end
  local low = sfx:lower()
  local mul = low:sub(1, 1) == "b" and #low == 1 and 1 or UNITS[low:sub(1, 1)]
  if mul and #low <= 3 and (mul == 1 or #low == 1 or low:sub(2) == "i" or low:sub(2) == "b" or low:sub(2) == "ib") then
    return whole(size * mul)
  end
  return nil, ("invalid suffix: '%s'"):format(low)
end

-- --cpus as docker's NanoCPUs: a rational number (a decimal, or a/b) times 1e9, whole.
function M.nano_cpus(s)
  local bad = ("failed to parse %s as a rational number"):format(s)
  local n, d = s:match("^([+-]?%d+)/(%d+)$")
  if n then
    n, d = tonumber(n), tonumber(d)
    if d == 0 then return nil, bad end
    local nano = n * 1e9 / d
    if nano ~= math.floor(nano) then return nil, "value is too precise" end
    return math.floor(nano)
  end
  local sign, int, frac, rest = s:match("^([+-]?)(%d*)%.?(%d*)(.*)$")
  local exp = rest and (rest == "" and "0" or rest:match("^[eE]([+-]?%d+)$"))
  if not sign or not exp or int .. frac == "" then return nil, bad end
  -- digits * 10^shift nanoseconds: whole only when the digits past the ninth decimal are zeros
  local digits, shift = (int .. frac):gsub("^0+", ""), 9 - #frac + tonumber(exp)
  if digits == "" then return 0 end
  if shift < 0 then
    if not digits:sub(shift):match("^0+$") then return nil, "value is too precise" end
    digits, shift = digits:sub(1, shift - 1), 0
    if digits == "" then return 0 end
  end
  local v = tonumber(digits .. ("0"):rep(shift))
  return sign == "-" and -v or v
end

-- -p/--publish as docker's nat.ParsePortSpec: [ip:][hostPort:]containerPort[/proto], ranges
-- on either side, an IPv6 address in brackets.
local function port_range(s)
  local function port(p)
    if not p:match("^%d+$") or tonumber(p) > 65535 then return nil end
    return tonumber(p)
  end
  if s == "" then return nil end
  if not s:find("-", 1, true) then
    local p = port(s)
    return p, p
  end
  local parts = split(s, "-")
  local a, b = port(parts[1]), port(parts[2])
  if not a or not b or b < a then return nil end
  return a, b
end

local PROTOS = { tcp = true, udp = true, sctp = true }

local function publish(raw, exposed, bindings)
  local parts = split(raw, ":")
  local ip, host, container = "", "", parts[#parts]
  if #parts == 2 then
    host = parts[1]
  elseif #parts >= 3 then
    ip, host = table.concat(parts, ":", 1, #parts - 2), parts[#parts - 1]
  end
  local proto = "tcp"
  local slash = split(container, "/")
  if container == "" or slash[1] == "" then
    container, proto = "", ""
  elseif #slash > 1 and slash[2] ~= "" then
    container, proto = slash[1], slash[2]
  else
    container = slash[1]
  end
  if ip:sub(1, 1) == "[" then
    local inner = ip:match("^%[([^%[%]]*)%]$")
    if not inner then return nil, ("invalid IP address %s: address %s:: missing port in address"):format(ip, ip) end
    ip = inner
  end
  if ip ~= "" and not is_ip(ip) then return nil, "invalid IP address: " .. ip end
  if container == "" then return nil, ("no port specified: %s<empty>"):format(raw) end
  local from, to = port_range(container)
  if not from then return nil, "invalid containerPort: " .. container end
  local hfrom, hto = 0, 0
  if host ~= "" then
    hfrom, hto = port_range(host)
    if not hfrom then return nil, "invalid hostPort: " .. host end
    if to - from ~= hto - hfrom and to ~= from then
      return nil, ("invalid ranges specified for container and host Ports: %s and %s"):format(container, host)
    end
  end
  if not PROTOS[proto:lower()] then return nil, "invalid proto: " .. proto end
  for i = 0, to - from do
    local key = ("%d/%s"):format(from + i, proto:lower())
    local hp = host ~= "" and tostring(hfrom + i) or ""
    -- one container port and a host range: the engine picks a free port in it
    if from == to and hfrom ~= hto then hp = ("%d-%d"):format(hfrom, hto) end
    exposed[key] = {}
    bindings[key] = bindings[key] or {}
    table.insert(bindings[key], { HostIp = ip, HostPort = hp })
  end
  return true
end

-- -p's long form as docker run reads it: name=value pairs, comma-separated, turned into the
-- short form above. docker drops host_ip; here it binds, as compose's long syntax has it.
local function long_publish(raw)
  local params = { protocol = "tcp" }
  for _, field in ipairs(split(raw, ",")) do
    local k, v = field:match("^([^=]*)=(.*)$")
    if not k or k == "" then
      return nil, ("invalid publish opts format (should be name=value but got '%s')"):format(field)
    end
    params[k] = v
  end
  local mode = params.mode
  if mode and mode ~= "ingress" and mode ~= "host" then
    return nil, ("invalid publish mode value (%s): must be either 'ingress' or 'host'"):format(mode)
  end
  local ip = params.host_ip or ""
  if ip:find(":", 1, true) and ip:sub(1, 1) ~= "[" then ip = "[" .. ip .. "]" end
  return (ip ~= "" and ip .. ":" or "") .. (params.published or "") .. ":" .. (params.target or "") .. "/" .. params.protocol
end

-- A port number as Go's strconv.ParseUint(s, 10, 16) reads it, with its words when it cannot.
local function uint16(s)
  if not s:match("^%d+$") then return nil, ('strconv.ParseUint: parsing "%s": invalid syntax'):format(s) end
  local n = tonumber(s)
  if n > 65535 then return nil, ('strconv.ParseUint: parsing "%s": value out of range'):format(s) end
  return n
end

-- --expose PORT[/PROTO] or START-END[/PROTO], as docker reads it: tcp when no protocol is given.
local function expose(raw, exposed)
  local parts = split(raw, "/")
  local ports, proto = parts[1], (parts[2] or "") ~= "" and parts[2]:lower() or "tcp"
  local function bad(err) return nil, ("invalid range format for --expose: %s, error: %s"):format(raw, err) end
  if ports == "" then return bad("empty string specified for ports") end
  local range = split(ports, "-")
  local from, ferr = uint16(range[1])
  if not from then return bad(ferr) end
  local to = from
  if range[2] then
    local terr
    to, terr = uint16(range[2])
    if not to then return bad(terr) end
    if to < from then return bad("invalid range specified for port: " .. ports) end
  end
  if not PROTOS[proto] then return nil, "invalid proto: " .. proto end
  for port = from, to do exposed[("%d/%s"):format(port, proto)] = {} end
  return true
end

-- Modes a volume takes after its target, as the engine accepts them: one of each kind.
local MODE_KIND = {
  rw = "rw", ro = "rw", z = "label", Z = "label", nocopy = "copy",
  private = "prop", rprivate = "prop", shared = "prop", rshared = "prop", slave = "prop", rslave = "prop",
  consistent = "cons", cached = "cons", delegated = "cons",
}

local function valid_mode(mode)
  local seen = {}
  for _, o in ipairs(split(mode, ",")) do
    local kind = MODE_KIND[o]
    if not kind or seen[kind] then return false end
    seen[kind] = true
  end
  return true
end

local function volume_name_error(src)
  return ('create %s: "%s" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" '
    .. "are allowed. If you intended to pass a host directory, use absolute path"):format(src, src)
end

local function not_absolute(kind, path)
  return ("invalid mount config for type \"%s\": invalid mount path: '%s' mount path must be absolute"):format(kind, path)
end

-- -v/--volume: [SOURCE:]TARGET[:MODE], SOURCE a host path (absolute) or a volume's name; with
-- no SOURCE an anonymous volume. Returns "bind", spec | "anonymous", target | nil, message.
local function volume(spec)
  if spec == "" then return nil, "invalid empty volume spec" end
  local fields = split(spec, ":")
  if #spec > 2 then
    for i, f in ipairs(fields) do
      if f == "" then return nil, ("invalid spec: %s: empty section between colons"):format(spec) end
      -- a third field with more after it: docker's loader stops there
      if i == 3 and #fields > 3 then return nil, ("invalid spec: %s: too many colons"):format(spec) end
    end
  else
    fields = { spec }
  end
  local source, target, mode
  if #fields == 1 then target = fields[1] else source, target, mode = fields[1], fields[2], fields[3] end
  local invalid = ("invalid volume specification: '%s'"):format(spec)
  if source then
    local bind = source:sub(1, 1) == "/"
    if not bind and not source:match("^[%w][%w_.-]*$") then return nil, volume_name_error(source) end
    if target:sub(1, 1) ~= "/" then return nil, invalid .. ": " .. not_absolute(bind and "bind" or "volume", target) end
    if mode and not valid_mode(mode) then return nil, "invalid mode: " .. mode end
    return "bind", spec
  end
  if target:sub(1, 1) ~= "/" then return nil, invalid .. ": " .. not_absolute("volume", target) end
  return "anonymous", target
end

-- One CSV record as Go's encoding/csv reads it: "..." quotes a whole field, "" a quote in it.
local function csv_fields(s)
  if s == "" then return nil, "EOF" end
  local fields, i, n = {}, 1, #s
  while true do
    if s:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = s:find('"', j, true)
        if not q then return nil, ('parse error on line 1, column %d: extraneous or missing " in quoted-field'):format(n + 1) end
        buf[#buf + 1] = s:sub(j, q - 1)
        local after = s:sub(q + 1, q + 1)
        if after == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        elseif after == "," or after == "" then
          fields[#fields + 1] = table.concat(buf)
          i = q + 1
          break
        else
          return nil, ('parse error on line 1, column %d: extraneous or missing " in quoted-field'):format(q + 1)
        end
      end
    else
      local comma = s:find(",", i, true) or n + 1
      local field = s:sub(i, comma - 1)
      local q = field:find('"', 1, true)
      if q then return nil, ('parse error on line 1, column %d: bare " in non-quoted field'):format(i + q - 1) end
      fields[#fields + 1] = field
      i = comma
    end
    if i > n then return fields end
    i = i + 1 -- past the comma
    if i > n then fields[#fields + 1] = ""; return fields end
  end
end

local MOUNT_TYPES = { bind = true, volume = true, tmpfs = true }

-- --mount as docker's MountOpt: type=bind|volume|tmpfs (volume by default), source/src,
-- target/dst/destination, readonly/ro, and the bind-, volume- and tmpfs- options.
local function mount(value)
  local fields, cerr = csv_fields(value)
  if not fields then return nil, cerr end
  local m = { Type = "volume" }
  local bind, vol, tmpfs
  local function volopts() vol = vol or {}; return vol end
  local function bindopts() bind = bind or {}; return bind end
  local function tmpfsopts() tmpfs = tmpfs or {}; return tmpfs end
  for _, field in ipairs(fields) do
    local key, val = field:match("^([^=]*)=(.*)$")
    if not key then
      local k = field:lower()
      if k == "readonly" or k == "ro" then
        m.ReadOnly = true
      elseif k == "volume-nocopy" then
        volopts().NoCopy = true
      elseif k == "bind-nonrecursive" then
        bindopts().NonRecursive = true
      else
        return nil, ("invalid field '%s' must be a key=value pair"):format(field)
      end
    else
      key = key:lower()
      local function boolean()
        local b = BOOLS[val]
        if b == nil then return nil, ("invalid value for %s: %s"):format(key, val) end
        return b
      end
      if key == "type" then
        m.Type = val:lower()
      elseif key == "source" or key == "src" then
        m.Source = val
      elseif key == "target" or key == "dst" or key == "destination" then
        m.Target = val
      elseif key == "readonly" or key == "ro" then
        local b, err = boolean()
        if b == nil then return nil, err end
        m.ReadOnly = b
      elseif key == "consistency" then
        m.Consistency = val
      elseif key == "bind-propagation" then
        bindopts().Propagation = val:lower()
      elseif key == "bind-nonrecursive" then
        local b, err = boolean()
        if b == nil then return nil, err end
        bindopts().NonRecursive = b
      elseif key == "volume-nocopy" then
        local b, err = boolean()
        if b == nil then return nil, err end
        volopts().NoCopy = b
      elseif key == "volume-label" or key == "volume-opt" then
        local o = volopts()
        local k, v = val:match("^([^=]*)=(.*)$")
        if key == "volume-label" then
          o.Labels = o.Labels or {}
          o.Labels[k or val] = v or ""
        else
          o.DriverConfig = o.DriverConfig or {}
          o.DriverConfig.Options = o.DriverConfig.Options or {}
          o.DriverConfig.Options[k or val] = v or ""
        end
      elseif key == "volume-driver" then
        local o = volopts()
        o.DriverConfig = o.DriverConfig or {}
        o.DriverConfig.Name = val
      elseif key == "volume-subpath" then
        volopts().Subpath = val
      elseif key == "tmpfs-size" then
        local size = M.ram_in_bytes(val)
        if not size then return nil, ("invalid value for %s: %s"):format(key, val) end
        tmpfsopts().SizeBytes = size
      elseif key == "tmpfs-mode" then
        local mode = val:match("^[0-7]+$") and tonumber(val, 8)
        if not mode or mode > 0xffffffff then return nil, ("invalid value for %s: %s"):format(key, val) end
        tmpfsopts().Mode = mode
      else
        return nil, ("unexpected key '%s' in '%s'"):format(key, field)
      end
    end
  end
  if m.Type == "" then return nil, "type is required" end
  if (m.Target or "") == "" then return nil, "target is required" end
  for kind, opts in pairs { volume = vol, bind = bind, tmpfs = tmpfs } do
    if opts and m.Type ~= kind then return nil, ("cannot mix '%s-*' options with mount type '%s'"):format(kind, m.Type) end
  end
  m.VolumeOptions, m.BindOptions, m.TmpfsOptions = vol, bind, tmpfs
  return m
end

-- What the engine says of a mount it cannot make, said before anything is created.
local function check_mount(m)
  local config = ('invalid mount config for type "%s": '):format(m.Type)
  if not MOUNT_TYPES[m.Type] then return nil, config .. "mount type unknown" end
  if m.Target:sub(1, 1) ~= "/" then return nil, not_absolute(m.Type, m.Target) end
  if m.Type == "bind" then
    if (m.Source or "") == "" then return nil, config .. "field Source must not be empty" end
    if m.Source:sub(1, 1) ~= "/" then return nil, not_absolute("bind", m.Source) end
  elseif m.Type == "tmpfs" and (m.Source or "") ~= "" then
    return nil, config .. "field Source must not be specified"
  elseif m.Type == "volume" and (m.Source or "") ~= "" and not m.Source:match("^[%w][%w_.-]*$") then
    return nil, volume_name_error(m.Source)
  end
  return true
end

-- --env-file as docker reads it: blank lines and # comments skipped, leading blanks trimmed,
-- NAME=VALUE kept as it is, a bare NAME given this environment's value or left out.
local function env_file(path, getenv)
  local f, oerr = io.open(path, "rb")
  if not f then
    return nil, "open " .. path .. ": " .. ((oerr or ""):match(": ([^:]+)$") or oerr or "cannot open"):gsub("^%u", string.lower)
  end
  local data = f:read("*a")
  f:close()
  if not data then return nil, "read " .. path .. ": is a directory" end
  local out, n = {}, 0
  for line in (data:gsub("\n$", "") .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("\r$", "")
    if n == 1 then line = line:gsub("^\239\187\191", "") end
    line = line:gsub("^%s+", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local name, value = line:match("^([^=]*)=(.*)$")
      name = (name or line):gsub("^[ \t]+", "")
      if name:find("[ \t]") then
        return nil, ("poorly formatted environment: variable '%s' contains whitespaces"):format(name)
      end
      if name == "" then return nil, ("poorly formatted environment: no variable name on line '%s'"):format(line) end
      if value then
        out[#out + 1] = name .. "=" .. value
      else
        local v = getenv(line)
        if v then out[#out + 1] = name .. "=" .. v end
      end
    end
  end
  return out
end

-- --restart as docker's: no, always, unless-stopped, on-failure[:N].
local function restart_policy(s)
  local name, count = s, nil
  local colon = s:find(":", 1, true)
  if colon then
    name, count = s:sub(1, colon - 1), s:sub(colon + 1)
    if name == "" then return nil, "invalid restart policy format: no policy provided before colon" end
  end
  local n = 0
  if count and count ~= "" then
    n = count:match("^[+-]?%d+$") and tonumber(count)
    if not n then return nil, "invalid restart policy format: maximum retry count must be an integer" end
  end
  if name == "no" or name == "always" or name == "unless-stopped" then
    if n ~= 0 then
      return nil, "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        .. (n < 0 and " and cannot be negative" or "")
    end
  elseif name == "on-failure" then
    if n < 0 then return nil, "invalid restart policy: maximum retry count cannot be negative" end
  else
    return nil, ("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")
      :format(name)
  end
  return { Name = name, MaximumRetryCount = n }
end

-- Signal names as the engine takes them for --stop-signal, SIG or not, or a number.
local SIGNALS = {}
for _, s in ipairs { "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
  "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
  "TTIN", "TTOU", "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX" } do
  SIGNALS[s] = true
end
for i = 1, 15 do SIGNALS["RTMIN+" .. i], SIGNALS["RTMAX-" .. i] = true, true end

local function valid_signal(s)
  local n = s:match("^[+-]?%d+$") and tonumber(s)
  if n then return n ~= 0 end
  return SIGNALS[(s:upper():gsub("^SIG", ""))] == true
end

-- Capabilities as docker sends them: upper case, CAP_ in front, each once, sorted; ALL
-- stands alone, and one both added and dropped is added.
local function caps(list)
  if not list then return nil end
  local out, seen = {}, {}
  for _, c in ipairs(list) do
    c = c:gsub("^%s+", ""):gsub("%s+$", ""):upper()
    if c ~= "" then
      if c ~= "ALL" and c:sub(1, 4) ~= "CAP_" then c = "CAP_" .. c end
      if not seen[c] then seen[c] = true; out[#out + 1] = c end
    end
  end
  if seen.ALL then return { "ALL" }, seen end
  table.sort(out)
  return out, seen
end

local function effective_caps(add, drop)
  local a, aseen = caps(add)
  local d = caps(drop)
  if a and d and d[1] ~= "ALL" then
    local kept = {}
    for _, c in ipairs(d) do
      if not aseen[c] then kept[#kept + 1] = c end
    end
    d = kept
  end
  return a and #a > 0 and a or nil, d and #d > 0 and d or nil
end

-- --add-host as docker's: host:ip or host=ip, the address in brackets or not, host-gateway
-- as it is. Returns "host:ip" as the engine takes it.
local function extra_host(val)
  local k, v = val:match("^([^=]*)=(.*)$")
  if not k then k, v = val:match("^([^:]*):(.*)$") end
  if not k or k == "" or k:find(":", 1, true) then return nil, ('bad format for add-host: "%s"'):format(val) end
  if v ~= "host-gateway" then
    if #v > 2 and v:sub(1, 1) == "[" and v:sub(-1) == "]" then v = v:sub(2, -2) end
    if not is_ip((v:gsub("^%s+", ""):gsub("%s+$", ""))) then
      return nil, "IP address is not correctly formatted: " .. v
    end
  end
  return k .. ":" .. v
end

-- --platform as docker sends it: os[/arch[/variant]] normalised, lower case; an arch alone
-- means linux.
local ARCH = {
  amd64 = { "amd64" }, x86_64 = { "amd64" }, ["x86-64"] = { "amd64" },
  ["386"] = { "386" }, i386 = { "386" },
  aarch64 = { "arm64" }, arm64 = { "arm64" },
  armhf = { "arm", "v7" }, armel = { "arm", "v6" }, arm = { "arm" },
  ppc64le = { "ppc64le" }, s390x = { "s390x" }, riscv64 = { "riscv64" }, mips64le = { "mips64le" },
  loong64 = { "loong64" },
}
local OSES = { linux = true, windows = true, darwin = true, freebsd = true }

local function platform(s)
  local parts = split(s:lower(), "/")
  for _, p in ipairs(parts) do
    if not p:match("^[%w_-]+$") then return nil, ('"%s": invalid path component "%s" in "%s"'):format(p, p, s) end
  end
  if #parts > 3 then return nil, ('"%s": cannot parse platform specifier: invalid argument'):format(s) end
  local os_, arch, variant = parts[1], parts[2], parts[3]
  if #parts == 1 then
    if OSES[os_] then
      arch = "amd64"
    elseif ARCH[os_] then
      os_, arch = "linux", os_
    else
      return nil, ('"%s": unknown operating system or architecture: invalid argument'):format(s)
    end
  end
  if os_ == "macos" then os_ = "darwin" end
  local a = ARCH[arch] or { arch }
  arch, variant = a[1], variant or a[2]
  if arch == "arm64" and (variant == "8" or variant == nil) then variant = "v8" end
  if arch == "arm" and variant == nil then variant = "v7" end
  if arch == "amd64" and variant == "v1" then variant = nil end
  return os_ .. "/" .. arch .. (variant and "/" .. variant or "")
end

-- The flags this file reads, for run's table.
M.flags = {
  { short = "v", long = "volume", kind = "list", help = "Bind mount a volume ([SOURCE:]TARGET[:ro|rw|...])" },
  { long = "mount", kind = "list", meta = "mount", help = "Attach a filesystem mount (type=bind|volume|tmpfs,source=,target=,readonly)" },
  { short = "p", long = "publish", kind = "list", help = "Publish a container's port(s) ([ip:][hostPort:]containerPort[/proto], or target=,published=,protocol=,host_ip=)" },
  { long = "expose", kind = "list", help = "Expose a port or a range of ports (port[/proto], start-end[/proto])" },
  { long = "env-file", kind = "list", help = "Read in a file of environment variables" },
  { long = "privileged", kind = "bool", help = "Give extended privileges to this container" },
  { long = "init", kind = "bool", help = "Run an init inside the container that forwards signals and reaps processes" },
  { long = "platform", kind = "string", help = "Set platform if server is multi-platform capable" },
  { long = "cap-add", kind = "list", help = "Add Linux capabilities" },
  { long = "cap-drop", kind = "list", help = "Drop Linux capabilities" },
  { short = "m", long = "memory", kind = "string", meta = "bytes", help = "Memory limit (b, k, m, g)" },
  { long = "cpus", kind = "string", meta = "decimal", help = "Number of CPUs" },
  { long = "add-host", kind = "list", help = "Add a custom host-to-IP mapping (host:ip)" },
  { long = "restart", kind = "string", help = 'Restart policy when a container exits ("no", "always", "unless-stopped", "on-failure[:N]")' },
  { long = "stop-signal", kind = "string", help = "Signal to stop the container" },
  { long = "read-only", kind = "bool", help = "Mount the container's root filesystem as read only" },
  { long = "tmpfs", kind = "list", help = "Mount a tmpfs directory (PATH[:OPTIONS])" },
}

-- apply(opts, body, getenv) -> query | nil, message: fills body (its HostConfig too) from the
-- flags above; query holds what goes on the create's URL (platform).
function M.apply(opts, body, getenv)
  local hc = body.HostConfig
  -- the flags cobra checks as it reads them come first, as docker reports them
  if opts.memory then
    local n, err = M.ram_in_bytes(opts.memory)
    if not n then return nil, bad_arg(opts.memory, "-m, --memory", err) end
    hc.Memory = n
  end
  if opts.cpus then
    local n, err = M.nano_cpus(opts.cpus)
    if not n then return nil, bad_arg(opts.cpus, "--cpus", err) end
    hc.NanoCpus = n
  end
  for _, h in ipairs(opts["add-host"] or {}) do
    local v, err = extra_host(h)
    if not v then return nil, bad_arg(h, "--add-host", err) end
    hc.ExtraHosts = hc.ExtraHosts or {}
    table.insert(hc.ExtraHosts, v)
  end
  for _, v in ipairs(opts.mount or {}) do
    local m, err = mount(v)
    if not m then return nil, bad_arg(v, "--mount", err) end
    local ok, merr = check_mount(m)
    if not ok then return nil, merr end
    hc.Mounts = hc.Mounts or {}
    table.insert(hc.Mounts, m)
  end
  for _, v in ipairs(opts.volume or {}) do
    local kind, what = volume(v)
    if not kind then return nil, what end
    if kind == "bind" then
      hc.Binds = hc.Binds or {}
      table.insert(hc.Binds, what)
    else
      body.Volumes = body.Volumes or {}
      body.Volumes[what] = {}
    end
  end
  for _, t in ipairs(opts.tmpfs or {}) do
    local path, o = t:match("^([^:]*):(.*)$")
    path = path or t
    if path:sub(1, 1) ~= "/" then return nil, not_absolute("tmpfs", path) end
    hc.Tmpfs = hc.Tmpfs or {}
    hc.Tmpfs[path] = o or ""
  end
  if opts.publish then
    local exposed, bindings = {}, {}
    for _, p in ipairs(opts.publish) do
      local short, lerr = p, nil
      if p:find("=", 1, true) then short, lerr = long_publish(p) end
      if not short then return nil, lerr end
      local ok, err = publish(short, exposed, bindings)
      if not ok then return nil, err end
    end
    body.ExposedPorts, hc.PortBindings = exposed, bindings
  end
  for _, e in ipairs(opts.expose or {}) do
    body.ExposedPorts = body.ExposedPorts or {}
    local ok, err = expose(e, body.ExposedPorts)
    if not ok then return nil, err end
  end
  if opts["env-file"] then
    local env = {}
    for _, path in ipairs(opts["env-file"]) do
      local lines, err = env_file(path, getenv)
      if not lines then return nil, err end
      for _, l in ipairs(lines) do env[#env + 1] = l end
    end
    -- the files first, then -e, as docker orders them
    for _, e in ipairs(body.Env or {}) do env[#env + 1] = e end
    body.Env = #env > 0 and env or nil
  end
  if opts.restart then
    local policy, err = restart_policy(opts.restart)
    if not policy then return nil, err end
    if opts.rm and policy.Name ~= "no" then return nil, "conflicting options: cannot specify both --restart and --rm" end
    hc.RestartPolicy = policy
  end
  if opts["stop-signal"] then
    if not valid_signal(opts["stop-signal"]) then return nil, "Invalid signal: " .. opts["stop-signal"] end
    body.StopSignal = opts["stop-signal"]
  end
  hc.CapAdd, hc.CapDrop = effective_caps(opts["cap-add"], opts["cap-drop"])
  if opts.privileged then hc.Privileged = true end
  if opts.init then hc.Init = true end
  if opts["read-only"] then hc.ReadonlyRootfs = true end
  local query = {}
  if opts.platform and opts.platform ~= "" then
    local p, err = platform(opts.platform)
    if not p then return nil, "error parsing specified platform: " .. err end
    query.platform = p
  end
  return query
end

return M
