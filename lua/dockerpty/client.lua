-- The Engine API client: version negotiation, JSON bodies, and methods named after
-- docker-py's low-level APIClient.
local core = require "dockerpty.core"
local endpoint = require "dockerpty.endpoint"

local M = {}

-- The oldest engine API dockerpty talks to, and the newest it asks for. A session needs
-- 1.30: before it, a wait takes no condition and answers only when the container has ended.
M.MIN_API_VERSION = "1.30"
M.MAX_API_VERSION = "1.47"

-- Seconds an ordinary request may take unless the client says otherwise: far longer than a
-- healthy engine takes to answer one, short enough that a stuck engine is noticed.
M.TIMEOUT = 60
-- The largest answer taken, in bytes, as the core's own default.
M.MAX_BODY = 64 * 1024 * 1024

local Client = {}
Client.__index = Client
M.Client = Client

local function version_number(v)
  local major, minor = tostring(v):match("^v?(%d+)%.(%d+)$")
  if not major then return nil end
  return tonumber(major) * 1000 + tonumber(minor)
end
M.version_number = version_number

-- Raises a wrong argument as Lua's own functions do, blaming the caller of the checked function.
local function check(cond, argn, fname, msg)
  if not cond then
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), 3)
  end
end
M.check = check

local function is_integer(v)
  return type(v) == "number" and v == math.floor(v)
end

local function check_id(id, argn, fname)
  check(type(id) == "string" and id ~= "", argn, fname, "a non-empty string expected")
end

-- A value percent-escaped for a path segment or a query; "." and ".." too, which libcurl
-- would otherwise take as steps of the path itself.
local function escape(s)
  s = tostring(s)
  if s == "." or s == ".." then return (s:gsub("%.", "%%2E")) end
  return (s:gsub("[^%w%-._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end
M.escape = escape

-- nil, message, 404 for a path with a "." or ".." segment, which no name or ID can be (the
-- engine's router would take it as a step of the path and redirect); nil for any other.
local function dot_segment(path)
  for seg in path:gsub("[?#].*", ""):gmatch("[^/]+") do
    local plain = seg:gsub("%%2[Ee]", ".")
    if plain == "." or plain == ".." then
      return ('invalid reference "%s": no container, image or exec is named . or ..'):format(plain), 404
    end
  end
end

-- {all = true, filters = {status = {"running"}}} -> "?all=1&filters=%7B...%7D", keys sorted.
local function query_string(q)
  if q == nil then return "" end
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    if type(v) == "boolean" then
      v = v and "1" or "0"
    elseif type(v) == "table" then
      v = core.json_encode(v)
    end
    parts[#parts + 1] = escape(k) .. "=" .. escape(v)
  end
  if #parts == 0 then return "" end
  return "?" .. table.concat(parts, "&")
end
M.query_string = query_string

-- client{host=, context=, tls_verify=, cert_path=, api_version=, timeout=, connect_timeout=,
-- max_body=}. Any option left out comes from DOCKER_HOST, DOCKER_CONTEXT (or the docker
-- CLI's current context), DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_API_VERSION. Returns the client, or nil, message, code when the set-up is wrong.
function M.new(opts)
  opts = opts or {}
  check(type(opts) == "table", 1, "client", "table expected")
  for _, k in ipairs { "host", "context", "cert_path", "api_version" } do
    check(opts[k] == nil or type(opts[k]) == "string", 1, "client", k .. " must be a string")
  end
  check(opts.tls_verify == nil or type(opts.tls_verify) == "boolean", 1, "client",
    "tls_verify must be a boolean")
  check(opts.timeout == nil or (type(opts.timeout) == "number" and opts.timeout >= 0 and opts.timeout <= 2147483),
    1, "client", "timeout must be a number of seconds from 0 to 2147483")
  check(opts.connect_timeout == nil or (type(opts.connect_timeout) == "number" and opts.connect_timeout >= 0.001
    and opts.connect_timeout <= 2147483), 1, "client", "connect_timeout must be a number of seconds from 0.001 to 2147483")
  check(opts.max_body == nil or (type(opts.max_body) == "number" and opts.max_body >= 1
    and opts.max_body <= 2 ^ 50), 1, "client", "max_body must be a number of bytes from 1 to 2^50")
  local conf, err, code = endpoint.resolve(opts)
  if not conf then return nil, err, code end
  if conf.api_version then
    if not version_number(conf.api_version) then
      return nil, ("invalid API version %q: expected a form like 1.41"):format(conf.api_version), "config"
    end
    if version_number(conf.api_version) < version_number(M.MIN_API_VERSION) then
      return nil, ("API version %s is older than %s, the oldest dockerpty supports"):format(
        conf.api_version, M.MIN_API_VERSION), "config"
    end
  end
  local self = setmetatable({
    endpoint = conf.endpoint,
    timeout = opts.timeout or M.TIMEOUT,
    max_body = opts.max_body or M.MAX_BODY,
    api_version = conf.api_version and conf.api_version:gsub("^v", ""),
    transport = core.transport(conf),
  }, Client)
  return self
end

local function engine_message(status, body, headers)
  local ctype = headers["content-type"] or ""
  if ctype:find("json", 1, true) then
    local doc = core.json_decode(body)
    if type(doc) == "table" and type(doc.message) == "string" then return doc.message end
  end
  body = body:gsub("^%s+", ""):gsub("%s+$", "")
  if body ~= "" and #body <= 512 then return body end
  return ("the engine answered HTTP %d"):format(status)
end

-- What core.hijack gave, with the engine's refusal worded like every other.
local function refused_or(stream, err, code, ctype)
  if stream then return stream end
  if type(code) == "number" then
    return nil, engine_message(code, err, { ["content-type"] = ctype }), code
  end
  return nil, err, code
end

-- The bare exchange: status, body, headers, or nil, message, code. No version prefix.
-- timeout: seconds for this one (0: none), the client's by default.
function Client:raw(method, path, body, content_type, timeout)
  return self.transport:request(method, path, body, content_type, timeout or self.timeout)
end

-- The version to speak to an engine that states v: refused below MIN_API_VERSION, capped
-- at MAX_API_VERSION. Returns it, or nil, message, code.
function M.choose_version(v, where)
  if not version_number(v) then
    return nil, ("%s did not state its API version; is it a Docker engine?"):format(where), "version"
  end
  if version_number(v) < version_number(M.MIN_API_VERSION) then
    return nil, ("the engine at %s speaks API %s; dockerpty needs %s or newer"):format(
      where, v, M.MIN_API_VERSION), "version"
  end
  if version_number(v) > version_number(M.MAX_API_VERSION) then return M.MAX_API_VERSION end
  return v
end

-- Settles the API version: the one asked for, else what the engine states in /_ping.
function Client:negotiate()
  if self.api_version then return self.api_version end
  local status, body, headers = self:raw("GET", "/_ping")
  if not status then return nil, body, headers end
  if status ~= 200 then return nil, engine_message(status, body, headers), status end
  local v, err, code = M.choose_version(headers["api-version"], self.endpoint)
  if not v then return nil, err, code end
  self.api_version = v
  return v
end

-- request(method, path, {query=, body=, content_type=, raw=, timeout=}) -> result | nil, message, code
-- path is unversioned ("/containers/json"); the negotiated "/vX.YY" goes in front. A table
-- body is sent as JSON, a string as it is. A JSON answer comes back decoded, any other as
-- a string; an empty one as "" to a GET (logs that hold nothing yet), as true to any other
-- method (a start, a kill). raw = true returns status, body, headers whatever the status.
-- timeout is this request's deadline in seconds (0: none), the client's by default.
function Client:request(method, path, opts)
  check(type(method) == "string", 1, "request", "string expected")
  check(type(path) == "string" and path:sub(1, 1) == "/", 2, "request",
    "a path starting with '/' expected")
  opts = opts or {}
  check(type(opts) == "table", 3, "request", "table expected")
  local body = opts.body
  check(body == nil or type(body) == "string" or type(body) == "table", 3, "request",
    "body must be a table or a string")
  if type(body) == "table" then body = core.json_encode(body) end
  check(opts.timeout == nil or (type(opts.timeout) == "number" and opts.timeout >= 0 and opts.timeout <= 2147483),
    3, "request", "timeout must be a number of seconds from 0 to 2147483")

  local derr, dcode = dot_segment(path)
  if derr then return nil, derr, dcode end
  local v, err, code = self:negotiate()
  if not v then return nil, err, code end
  local target = (path:match("^/v%d+%.%d+/") and "" or "/v" .. v) .. path .. query_string(opts.query)
  local status, rbody, headers = self:raw(method, target, body, opts.content_type, opts.timeout)
  if not status then return nil, rbody, headers end
  if opts.raw then return status, rbody, headers end
  if status >= 400 or (status >= 300 and status ~= 304) then
    return nil, engine_message(status, rbody, headers), status
  end
  if rbody == "" then return method == "GET" and "" or true end
  if (headers["content-type"] or ""):find("json", 1, true) then
    local doc, jerr = core.json_decode(rbody)
    if doc == nil then
      return nil, ("%s from %s %s"):format(jerr, method, self.endpoint), "json"
    end
    return doc
  end
  return rbody
end

-- How many connections this client has opened: one, while the engine keeps it alive.
function Client:connections()
  return self.transport:connects()
end

function Client:close()
  self.transport:close()
end
Client.__close = Client.close

function Client:ping()
  local status, body, headers = self:raw("GET", "/_ping")
  if not status then return nil, body, headers end
  if status ~= 200 then return nil, engine_message(status, body, headers), status end
  return true
end

function Client:version()
  return self:request("GET", "/version")
end

function Client:info()
  return self:request("GET", "/info")
end

-- containers{all=, filters=, limit=, size=} -> list of container summaries
function Client:containers(opts)
  opts = opts or {}
  check(type(opts) == "table", 1, "containers", "table expected")
  return self:request("GET", "/containers/json", {
    query = { all = opts.all, filters = opts.filters, limit = opts.limit, size = opts.size },
  })
end

-- create_container(body, {name=, platform=}) -> {Id=, Warnings=}
function Client:create_container(body, opts)
  check(type(body) == "table", 1, "create_container", "table expected")
  opts = opts or {}
  check(type(opts) == "table", 2, "create_container", "table expected")
  return self:request("POST", "/containers/create", {
    query = { name = opts.name, platform = opts.platform }, body = body,
  })
end

function Client:start(id)
  check_id(id, 1, "start")
  return self:request("POST", "/containers/" .. escape(id) .. "/start")
end

function Client:inspect_container(id)
  check_id(id, 1, "inspect_container")
  return self:request("GET", "/containers/" .. escape(id) .. "/json")
end

-- wait(id, {condition=}) -> {StatusCode=, Error=}
function Client:wait(id, opts)
  check_id(id, 1, "wait")
  opts = opts or {}
  check(type(opts) == "table", 2, "wait", "table expected, as {condition = \"next-exit\"}")
  -- none: it lasts as long as the container runs
  return self:request("POST", "/containers/" .. escape(id) .. "/wait", {
    query = { condition = opts.condition }, timeout = 0,
  })
end

function Client:kill(id, signal)
  check_id(id, 1, "kill")
  check(signal == nil or type(signal) == "string" or is_integer(signal), 2, "kill",
    "a signal name or number expected")
  return self:request("POST", "/containers/" .. escape(id) .. "/kill", {
    query = { signal = signal },
  })
end

local function check_timeout_opts(opts, fname)
  opts = opts or {}
  check(type(opts) == "table", 2, fname, "table expected, as {t = 10}")
  check(opts.t == nil or is_integer(opts.t), 2, fname, "t must be a whole number of seconds")
  return opts
end

-- The engine waits t seconds before its SIGKILL: the deadline is that on top of the client's.
-- Without t the wait is the container's own, unknown here, so there is none.
local function stop_deadline(self, t)
  if not t or t < 0 or self.timeout == 0 then return 0 end
  return math.min(self.timeout + t, 2147483)
end

-- stop(id, {t=}): SIGTERM (or the container's stop signal), then SIGKILL after t seconds
-- (the container's own timeout unless told). Stopping a stopped container is no error.
function Client:stop(id, opts)
  check_id(id, 1, "stop")
  opts = check_timeout_opts(opts, "stop")
  return self:request("POST", "/containers/" .. escape(id) .. "/stop",
    { query = { t = opts.t }, timeout = stop_deadline(self, opts.t) })
end

-- restart(id, {t=}): a stop as stop() makes it, then a start.
function Client:restart(id, opts)
  check_id(id, 1, "restart")
  opts = check_timeout_opts(opts, "restart")
  return self:request("POST", "/containers/" .. escape(id) .. "/restart",
    { query = { t = opts.t }, timeout = stop_deadline(self, opts.t) })
end

function Client:pause(id)
  check_id(id, 1, "pause")
  return self:request("POST", "/containers/" .. escape(id) .. "/pause")
end

function Client:unpause(id)
  check_id(id, 1, "unpause")
  return self:request("POST", "/containers/" .. escape(id) .. "/unpause")
end

local STREAM_NAMES = { "stdout", "stderr" }

-- A Unix time as the engine reads one, seconds.nanoseconds: never 1.7e+09.
local function unix_time(t)
  if type(t) ~= "number" then return t end
  return t == math.floor(t) and ("%d"):format(t) or ("%.9f"):format(t)
end

-- logs(id, {follow=, tail=, since=, ["until"]=, timestamps=, stdout=, stderr=, on_output=})
--   -> stdout, stderr | true (with on_output) | nil, message, code
-- What the container printed, stdout and stderr apart (a tty container's all in stdout, as
-- its tty mixed them). With follow it goes on until the container stops. on_output(data,
-- stream) gets each piece as it comes, stream "stdout" or "stderr", and nothing is kept.
-- tail is a count or "all"; since and until are Unix times (or what the engine takes).
function Client:logs(id, opts)
  check_id(id, 1, "logs")
  opts = opts or {}
  check(type(opts) == "table", 2, "logs", "table expected, as {follow = true}")
  check(opts.on_output == nil or type(opts.on_output) == "function", 2, "logs", "on_output must be a function")
  check(opts.tail == nil or opts.tail == "all" or (is_integer(opts.tail) and opts.tail >= 0), 2, "logs",
    "tail must be a count or \"all\"")
  for _, k in ipairs { "since", "until" } do
    check(opts[k] == nil or type(opts[k]) == "number" or type(opts[k]) == "string", 2, "logs",
      k .. " must be a Unix time")
  end
  local info, err, code = self:inspect_container(id)
  if not info then return nil, err, code end
  local v
  v, err, code = self:negotiate()
  if not v then return nil, err, code end
  local q = query_string {
    stdout = opts.stdout ~= false, stderr = opts.stderr ~= false, follow = opts.follow == true or nil,
    tail = opts.tail, since = unix_time(opts.since), ["until"] = unix_time(opts["until"]),
    timestamps = opts.timestamps == true or nil,
  }
  local stream, serr, scode = refused_or(core.hijack(self.transport,
    "/v" .. v .. "/containers/" .. escape(info.Id) .. "/logs" .. q, nil, nil, false, false, "GET"))
  if not stream then return nil, serr, scode end
  local demux = info.Config.Tty ~= true and core.demux() or nil
  local on_output, kept, size = opts.on_output, { {}, {} }, 0
  local failure
  -- Kept output is bounded as any answer is, by max_body.
  local function deliver(kind, data)
    if data == "" then return true end
    if on_output then on_output(data, STREAM_NAMES[kind]); return true end
    size = size + #data
    if size > self.max_body then
      failure = { ("the logs of %s from %s are larger than %d bytes"):format(id, self.endpoint, self.max_body),
        "too_large" }
      return false
    end
    table.insert(kept[kind], data)
    return true
  end
  -- logs that are not followed are an ordinary answer, with the client's deadline
  local deadline = not opts.follow and self.timeout > 0 and core.monotime() + self.timeout
  local ok, perr = pcall(function()
    while true do
      local wait_ms = -1
      if deadline then
        wait_ms = math.floor((deadline - core.monotime()) * 1000)
        if wait_ms <= 0 then
          failure = { ("timed out talking to %s: no end to the logs of %s within %g s"):format(
            self.endpoint, id, self.timeout), "timeout" }
          return
        end
      end
      local data, rerr = stream:read(65536, wait_ms)
      if data == false then data = "" end
      if data == nil then
        if rerr then failure = { rerr, "transport" } end
        return
      end
      if demux then
        local frames, derr = demux:feed(data)
        if not frames then failure = { ("%s from the logs of %s"):format(derr, id), "transport" }; return end
        for _, f in ipairs(frames) do
          if f[1] == 3 then failure = { f[2], "engine" }; return end
          if not deliver(f[1] == 2 and 2 or 1, f[2]) then return end
        end
      elseif not deliver(1, data) then
        return
      end
    end
  end)
  stream:close()
  if not ok then error(perr, 0) end -- on_output's own error, once the connection is closed
  if failure then return nil, failure[1], failure[2] end
  if on_output then return true end
  return table.concat(kept[1]), table.concat(kept[2])
end

-- remove_container(id, {force=, v=})
function Client:remove_container(id, opts)
  check_id(id, 1, "remove_container")
  opts = opts or {}
  check(type(opts) == "table", 2, "remove_container", "table expected, as {force = true}")
  return self:request("DELETE", "/containers/" .. escape(id), {
    query = { force = opts.force, v = opts.v },
  })
end

local function check_size(h, w, fname)
  check(is_integer(h) and h > 0, 2, fname, "height must be a positive integer")
  check(is_integer(w) and w > 0, 3, fname, "width must be a positive integer")
end

function Client:resize(id, h, w)
  check_id(id, 1, "resize")
  check_size(h, w, "resize")
  return self:request("POST", "/containers/" .. escape(id) .. "/resize", { query = { h = h, w = w } })
end

-- exec_create(id, body) -> {Id=}
function Client:exec_create(id, body)
  check_id(id, 1, "exec_create")
  check(type(body) == "table", 2, "exec_create", "table expected")
  return self:request("POST", "/containers/" .. escape(id) .. "/exec", { body = body })
end

function Client:exec_inspect(exec_id)
  check_id(exec_id, 1, "exec_inspect")
  return self:request("GET", "/exec/" .. escape(exec_id) .. "/json")
end

function Client:exec_resize(exec_id, h, w)
  check_id(exec_id, 1, "exec_resize")
  check_size(h, w, "exec_resize")
  return self:request("POST", "/exec/" .. escape(exec_id) .. "/resize", { query = { h = h, w = w } })
end

-- A hijacked connection, or nil, message, code: a transport failure as it came, or the
-- engine's refusal worded like every other.
local function hijack(self, target, body)
  local derr, dcode = dot_segment(target)
  if derr then return nil, derr, dcode end
  local v, err, code = self:negotiate()
  if not v then return nil, err, code end
  return refused_or(self:raw_hijack("/v" .. v .. target, body))
end

-- The bare upgrade: what core.hijack gives. No version prefix.
function Client:raw_hijack(target, body)
  return core.hijack(self.transport, target, body)
end

local ANSWER_MAX = 1024 * 1024

-- Reads what has come; with block, until the engine closes the connection. Returns the
-- whole answer then, false while it is still to come, or nil, message, code.
local function read_answer(self, block)
  while true do
    local data, err = self.stream:read(65536, block and -1 or 0)
    if data == false then return false end
    if data == nil then
      self.stream:close()
      if err then return nil, err, "transport" end
      return table.concat(self.parts)
    end
    self.size = self.size + #data
    if self.size > ANSWER_MAX then
      self.stream:close()
      return nil, ("%s answered with more than %d bytes"):format(self.endpoint, ANSWER_MAX), "too_large"
    end
    self.parts[#self.parts + 1] = data
  end
end

-- An answer read later, on a connection of its own; interpret(self, answer) makes sense of
-- the whole answer: result | nil, message, code.
local function answer_class(interpret)
  local class = {}
  class.__index = class
  -- Reads what has come; with block, until the answer is whole. Then what interpret made of
  -- it, kept so that asking again gives it again; false while it is still to come.
  function class:poll(block)
    if not self.done then
      local answer, err, code = read_answer(self, block)
      if answer == false then return false end
      if answer then
        self.done = { interpret(self, answer) }
      else
        self.done = { nil, err, code }
      end
    end
    return self.done[1], self.done[2], self.done[3]
  end
  -- The engine's answer, waiting for it.
  function class:result() return self:poll(true) end
  function class:fileno() return self.stream:fileno() end
  function class:close() self.stream:close() end
  class.__close = class.close
  return class
end

local function new_answer(class, stream, where)
  return setmetatable({ stream = stream, parts = {}, size = 0, endpoint = where }, class)
end

-- A wait's answer: {StatusCode =, Error =} | nil, message, code.
local Waiter = answer_class(function(self, body)
  if body == "" then
    return nil, ("lost the engine at %s: it closed the connection before telling the container's exit code")
      :format(self.endpoint), "transport"
  end
  local doc, jerr = core.json_decode(body)
  if type(doc) ~= "table" then return nil, ("%s from wait"):format(jerr or "no answer"), "json" end
  return doc
end)

-- A start's answer: true (started, or running already) | nil, message, code.
local Starter = answer_class(function(self, answer)
  local n, status, head = core.parse_head(answer)
  if not n or n == 0 or head.chunked then
    return nil, ("%s answered a start with something other than HTTP/1.0"):format(self.endpoint), "transport"
  end
  if status >= 400 or (status >= 300 and status ~= 304) then
    return nil, engine_message(status, answer:sub(n + 1), { ["content-type"] = head.content_type }), status
  end
  return true
end)

-- wait_later(id, [condition]) -> waiter: the wait is registered with the engine when this
-- returns, so an exit that comes next, even before waiter:result() is called, is not missed.
-- condition: "next-exit" (the default), "not-running" or "removed".
function Client:wait_later(id, condition)
  check_id(id, 1, "wait_later")
  local derr, dcode = dot_segment("/" .. escape(id))
  if derr then return nil, derr, dcode end
  local v, err, code = self:negotiate()
  if not v then return nil, err, code end
  local q = query_string { condition = condition or "next-exit" }
  local stream, herr, hcode = refused_or(core.hijack(self.transport,
    "/v" .. v .. "/containers/" .. escape(id) .. "/wait" .. q, nil, nil, false))
  if not stream then return nil, herr, hcode end
  return new_answer(Waiter, stream, self.endpoint)
end


-- start_later(id) -> starter: sends the start on a connection of its own and returns at
-- once, so the container's first output can be pumped while the engine is still answering.
-- starter:poll() and starter:result() give what start() would.
function Client:start_later(id)
  check_id(id, 1, "start_later")
  local derr, dcode = dot_segment("/" .. escape(id))
  if derr then return nil, derr, dcode end
  local v, err, code = self:negotiate()
  if not v then return nil, err, code end
  local stream, serr, scode = core.hijack(self.transport,
    "/v" .. v .. "/containers/" .. escape(id) .. "/start", nil, nil, false, true)
  if not stream then return nil, serr, scode end
  return new_answer(Starter, stream, self.endpoint)
end

-- attach_socket(id, {stdin=, stdout=, stderr=, logs=, stream=, detach_keys=}) -> stream
-- The container's streams on a connection of their own: stdout and stderr unless turned
-- off, stdin only when asked for. Multiplexed unless the container has a tty.
function Client:attach_socket(id, params)
  check_id(id, 1, "attach_socket")
  params = params or {}
  check(type(params) == "table", 2, "attach_socket", "table expected")
  local q = query_string {
    stream = params.stream ~= false, stdin = params.stdin == true,
    stdout = params.stdout ~= false, stderr = params.stderr ~= false,
    logs = params.logs or nil, detachKeys = params.detach_keys,
  }
  return hijack(self, "/containers/" .. escape(id) .. "/attach" .. q)
end

-- exec_socket(exec_id, {tty=}) -> stream: starts the exec on a connection of its own.
function Client:exec_socket(exec_id, params)
  check_id(exec_id, 1, "exec_socket")
  params = params or {}
  check(type(params) == "table", 2, "exec_socket", "table expected")
  return hijack(self, "/exec/" .. escape(exec_id) .. "/start",
    core.json_encode { Detach = false, Tty = params.tty == true })
end

-- An answer to any POST, read later: what request() would give.
local Posted = answer_class(function(self, answer)
  local n, status, head = core.parse_head(answer)
  if not n or n == 0 or head.chunked then
    return nil, ("%s answered with something other than HTTP/1.0"):format(self.endpoint), "transport"
  end
  local body = answer:sub(n + 1)
  if status >= 400 or (status >= 300 and status ~= 304) then
    return nil, engine_message(status, body, { ["content-type"] = head.content_type }), status
  end
  if body == "" then return true end
  if (head.content_type or ""):find("json", 1, true) then
    local doc, jerr = core.json_decode(body)
    if doc == nil then return nil, ("%s from POST at %s"):format(jerr, self.endpoint), "json" end
    return doc
  end
  return body
end)

-- post_later(path, {query =, body =}) -> answer: the POST goes out on a connection of its own
-- and this returns once it is sent, so that many can be in the engine's hands at once;
-- answer:poll() and answer:result() give what request() would.
function Client:post_later(path, opts)
  check(type(path) == "string" and path:sub(1, 1) == "/", 1, "post_later", "a path starting with '/' expected")
  opts = opts or {}
  check(type(opts) == "table", 2, "post_later", "table expected")
  local body = opts.body
  check(body == nil or type(body) == "string" or type(body) == "table", 2, "post_later",
    "body must be a table or a string")
  if type(body) == "table" then body = core.json_encode(body) end
  local derr, dcode = dot_segment(path)
  if derr then return nil, derr, dcode end
  local v, err, code = self:negotiate()
  if not v then return nil, err, code end
  local stream, serr, scode = core.hijack(self.transport, "/v" .. v .. path .. query_string(opts.query),
    body, nil, false, true)
  if not stream then return nil, serr, scode end
  return new_answer(Posted, stream, self.endpoint)
end

-- ---- a client that never blocks its caller's loop ----

local HANDSHAKE_TIMEOUT = 30 -- seconds an upgrade's answer may take, as core.hijack allows

local function timeout_message(self, seconds)
  return ("timed out talking to %s: no answer within %g s"):format(self.endpoint, seconds)
end

-- The deadline of a request that may take seconds (0: none), on core.monotime's clock.
local function deadline_of(seconds)
  if not seconds or seconds == 0 then return math.huge end
  return core.monotime() + seconds
end

-- The head's fields as the transport gives them: lowercase names, values trimmed, a name
-- given twice joined with ", ".
local function fields_of(head)
  local headers = {}
  for name, value in head:gmatch("\n([^:\r\n]+):([^\r\n]*)") do
    name, value = name:lower(), value:match("^[ \t]*(.-)[ \t]*$")
    headers[name] = headers[name] and headers[name] .. ", " .. value or value
  end
  return headers
end

local Cooperative = {}

-- The bare exchange on a connection of its own: sent at once, the answer read as it comes
-- (to its Content-Length, else to the end of the connection), self.wait(fd, deadline) called
-- while it is not whole.
function Cooperative.raw(self, method, path, body, content_type, timeout)
  local seconds = timeout or self.timeout
  local deadline = deadline_of(seconds)
  local stream, err, code = core.hijack(self.transport, path, body, content_type, false, true, method)
  if not stream then return nil, err, code end
  local parts, size, head_len, status, want = {}, 0, nil, nil, nil
  local function fail(message, why)
    stream:close()
    return nil, message, why
  end
  while not (want and size >= want) do
    local data, rerr = stream:read(65536, 0)
    if data == nil then
      if rerr then return fail(rerr, "transport") end
      if not head_len or (want and size < want) then
        return fail(("%s closed the connection before the whole answer"):format(self.endpoint), "transport")
      end
      break
    end
    if data == false then
      if not self.wait(stream:fileno(), deadline) then return fail(timeout_message(self, seconds), "timeout") end
    else
      parts[#parts + 1] = data
      size = size + #data
      if not head_len then
        local joined = table.concat(parts)
        parts = { joined }
        local n, head
        n, status, head = core.parse_head(joined)
        if not n or (n == 0 and #joined > 65536) or (n > 0 and head.chunked) then
          return fail(("%s answered with something other than HTTP/1.0"):format(self.endpoint), "transport")
        end
        if n > 0 then
          head_len = n
          want = head.content_length and head.content_length >= 0 and n + head.content_length or nil
        end
      end
      if head_len and size - head_len > self.max_body then
        return fail(("response from %s is larger than %d bytes"):format(self.endpoint, self.max_body), "too_large")
      end
    end
  end
  stream:close()
  local answer = table.concat(parts)
  return status, answer:sub(head_len + 1, want), fields_of(answer:sub(1, head_len))
end

-- The bare upgrade, its answer's head read as it comes.
function Cooperative.raw_hijack(self, target, body)
  local seconds = self.timeout > 0 and math.min(self.timeout, HANDSHAKE_TIMEOUT) or HANDSHAKE_TIMEOUT
  local deadline = deadline_of(seconds)
  local stream, err, code, ctype = core.hijack(self.transport, target, body, nil, true, true)
  if not stream then return stream, err, code, ctype end
  while true do
    local head, herr, hcode, hctype = stream:finish_head()
    if head then return stream, head end
    if head == nil then return nil, herr, hcode, hctype end
    if not self.wait(stream:fileno(), deadline) then
      stream:close()
      return nil, timeout_message(self, seconds), "timeout"
    end
  end
end

-- cooperative(wait) -> a view of this client whose every request and upgrade goes out on a
-- connection of its own and never waits for the engine itself: wait(fd, deadline) is called
-- instead whenever the answer is not whole, and returns true once fd is readable, false
-- once deadline (core.monotime's clock) has passed. Inside a coroutine, wait can yield to
-- the caller's loop (coroutine.yield), so one slow answer holds up nothing else. Methods and
-- results are the client's own; the view shares its transport and settings.
function Client:cooperative(wait)
  check(type(wait) == "function", 1, "cooperative", "function expected")
  return setmetatable({ wait = wait, raw = Cooperative.raw, raw_hijack = Cooperative.raw_hijack },
    { __index = self })
end

return M
