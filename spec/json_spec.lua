-- JSON: the Lua shapes it gives and takes, its limits, what a document may cost, and a fuzzer.
local dockerpty = require "dockerpty"
local json = dockerpty.json

describe("json.decode", function()
  it("gives objects as tables and arrays as sequences", function()
    local v = json.decode('{"a": [1, "two", true, false], "b": {"c": "d"}}')
    assert.same({ 1, "two", true, false }, v.a)
    assert.equal("d", v.b.c)
  end)

  if math.type then -- Lua 5.3+: numbers have an integer subtype
    it("keeps integers integers and floats floats", function()
      local v = json.decode('[0, -7, 4294967296, 9007199254740992, 2.5, 1e300]')
      for i = 1, 4 do assert.equal("integer", math.type(v[i])) end
      assert.equal(4294967296, v[3])
      assert.equal(9007199254740992, v[4])
      assert.equal("float", math.type(v[5]))
      assert.equal(2.5, v[5])
      assert.equal(1e300, v[6])
    end)
  else -- Lua 5.1, LuaJIT: one number type, a double
    it("gives whole numbers whole and exact up to 2^53, and fractions as they are", function()
      local v = json.decode('[0, -7, 4294967296, 9007199254740992, 2.5, 1e300, -9007199254740992]')
      for i = 1, 4 do assert.is_number(v[i]); assert.equal(math.floor(v[i]), v[i]) end
      assert.same({ 0, -7, 4294967296, 2 ^ 53 }, { v[1], v[2], v[3], v[4] })
      assert.equal("9007199254740992", ("%.0f"):format(v[4]))
      assert.equal(2.5, v[5])
      assert.equal(1e300, v[6])
      assert.equal(-2 ^ 53, v[7])
    end)
  end

  it("turns null into the dockerpty.null sentinel, not nil", function()
    local v = json.decode('{"ExitCode": null, "list": [null, 1]}')
    assert.equal(dockerpty.null, v.ExitCode)
    assert.equal(2, #v.list)
    assert.equal(dockerpty.null, v.list[1])
    assert.equal("dockerpty.null", tostring(dockerpty.null))
  end)

  it("decodes escapes and UTF-8", function()
    assert.equal('a"b\\c\n\tä€😀', json.decode('"a\\"b\\\\c\\n\\tä\\u20ac\\ud83d\\ude00"'))
  end)

  it("returns nil and a message naming the position of the error", function()
    local v, err = json.decode('{"a": 1,, "b": 2}')
    assert.is_nil(v)
    local at = tonumber(err:match("^invalid JSON at byte (%d+)$"))
    assert.is_true(at >= 8 and at <= 10, err)
    v, err = json.decode('{"a": ')
    assert.is_nil(v)
    assert.equal("invalid JSON: unexpected end of input", err)
    v, err = json.decode('{"a": 1} trailing')
    assert.is_nil(v)
    assert.equal("invalid JSON at byte 10", err)
    v, err = json.decode("")
    assert.is_nil(v)
    assert.matches("invalid JSON", err)
  end)

  it("accepts whitespace around a document", function()
    assert.same({ a = 1 }, json.decode('  \r\n {"a": 1}\n  '))
  end)

  it("bounds nesting depth", function()
    local ok = string.rep("[", 200) .. string.rep("]", 200)
    assert.is_table(json.decode(ok))
    local deep = string.rep("[", 201) .. string.rep("]", 201)
    local v, err = json.decode(deep)
    assert.is_nil(v)
    assert.equal("invalid JSON: nested deeper than 200 levels", err)
    -- far deeper than cJSON's own limit, and brackets inside strings do not count
    v, err = json.decode(string.rep('{"a":', 100000) .. "1" .. string.rep("}", 100000))
    assert.is_nil(v)
    assert.matches("nested deeper", err)
    assert.same({ "[[[[" }, json.decode('["' .. "[[[[" .. '"]'))
  end)

  it("decodes large documents", function()
    local items = {}
    for i = 1, 100000 do items[i] = tostring(i) end
    local v = json.decode("[" .. table.concat(items, ",") .. "]")
    assert.equal(100000, #v)
    assert.equal(100000, v[100000])
    local big = string.rep("x", 8 * 1024 * 1024)
    assert.equal(big, json.decode('"' .. big .. '"'))
  end)

  it("raises on a wrong argument type", function()
    assert.has_error(function() json.decode({}) end)
  end)

  it("refuses raw control characters and lone surrogates in strings, and keeps \\u0000", function()
    assert.equal("invalid JSON at byte 3", select(2, json.decode('"a\nb"')))
    assert.equal("invalid JSON at byte 2", select(2, json.decode('"\\udc00"')))
    assert.equal("invalid JSON at byte 2", select(2, json.decode('"\\ud800x"')))
    assert.equal("a\0b", json.decode('"a\\u0000b"'))
    assert.equal("invalid JSON at byte 2", select(2, json.decode("01")))
    assert.is_nil(json.decode("0x10"))
    assert.is_nil(json.decode("1."))
  end)
end)

describe("json.decode's memory", function()
  local MIB = 1024 * 1024
  -- [x,x,...] of about size bytes
  local function doc(item, size)
    return "[" .. (item .. ","):rep(math.floor(size / (#item + 1)) - 1) .. item .. "]"
  end
  -- What the Lua heap grew by while decoding, with the collector stopped so that garbage left
  -- by a refused document still counts: the most the decode held at once.
  local function decode_cost(text)
    collectgarbage()
    collectgarbage("stop")
    local before = collectgarbage("count")
    local v, err = json.decode(text)
    local grew = (collectgarbage("count") - before) * 1024
    v = v and #v -- luacheck: ignore 311
    collectgarbage("restart")
    collectgarbage()
    return v, err, grew
  end

  it("refuses a document whose values would take many times its size", function()
    -- tables cost some 20 times their text everywhere, [0,0,...] 8 times on 5.4 (4 under LuaJIT)
    for _, item in ipairs { "{}", "[]", "0", "true", "null" } do
      local text = doc(item, 32 * MIB)
      local v, err, grew = decode_cost(text)
      if item == "{}" or item == "[]" or (item == "0" and math.type) then
        assert.is_nil(v, item)
        assert.matches("^JSON too large: its values would take more than 19%d MiB$", err)
      end
      assert.is_true(grew < 12 * #text, ("%s: %.0f MiB"):format(item, grew / MIB))
    end
  end)

  it("decodes an engine's answer of the same size, and small documents of any shape", function()
    local container = '{"Id":"%064d","Names":["/web-%d"],"Image":"busybox","Command":"sleep 600",'
      .. '"Created":1700000000,"Ports":[],"Labels":{"app":"demo"},"State":"running","Mounts":[]}'
    local block = {}
    for i = 1, 1000 do block[i] = container:format(i, i) end
    local text = doc(table.concat(block, ","), 32 * MIB)
    local v, err, grew = decode_cost(text)
    assert(v, err)
    assert.is_true(v > 30000)
    assert.is_true(grew < 6 * #text)
    for _, item in ipairs { "0", "{}", "[]", "true", "null" } do
      local small = json.decode(doc(item, 256 * 1024))
      assert.is_true(#small > 50000)
    end
  end)
end)

describe("json.encode", function()
  it("encodes tables with string keys as objects and sequences as arrays", function()
    assert.equal('{"a":"b"}', json.encode({ a = "b" }))
    assert.equal('[1,2,3]', json.encode({ 1, 2, 3 }))
    assert.equal('{"Cmd":["sh","-c","true"]}', json.encode({ Cmd = { "sh", "-c", "true" } }))
  end)

  if math.type then -- Lua 5.3+: 64-bit integers
    it("writes integers as integers, exactly, and floats as floats", function()
      -- 2 ^ 62 | 0 is written in a string: Lua 5.1 cannot parse the | operator
      local two_62 = assert(load("return 2 ^ 62 | 0"))()
      assert.equal("[1,-2,4611686018427387904,9223372036854775807,1.5]",
        json.encode({ 1, -2, two_62, math.maxinteger, 1.5 }))
    end)
  else -- Lua 5.1, LuaJIT: doubles, whose whole numbers are exact up to 2^53
    it("writes whole numbers as integers, exactly up to 2^53, and fractions as floats", function()
      assert.equal("[1,-2,4294967296,1.5]", json.encode({ 1, -2, 2 ^ 32, 1.5 }))
      assert.equal("[9007199254740992,-9007199254740992,9007199254740991,4503599627370497]",
        json.encode({ 2 ^ 53, -2 ^ 53, 2 ^ 53 - 1, 2 ^ 52 + 1 }))
    end)
  end

  it("encodes null, booleans and empty arrays", function()
    assert.equal("[null,true,false]", json.encode({ dockerpty.null, true, false }))
    assert.equal("{}", json.encode({}))
    assert.equal("[]", json.encode(dockerpty.array()))
    assert.equal('{"Env":[]}', json.encode({ Env = dockerpty.array() }))
    assert.equal("null", json.encode(nil))
  end)

  it("escapes strings", function()
    assert.equal('"a\\"b\\\\\\n\\u0001"', json.encode('a"b\\\n\1'))
  end)

  it("raises a clear error for what JSON cannot hold", function()
    local cases = {
      { { 1, 2, x = 3 }, "table mixes array items and object keys" },
      { { [1] = 1, [3] = 3 }, "array has holes" },
      { { [true] = 1 }, "key that is not a string" },
      { { [1.5] = 1 }, "key that is not a string" },
      { { f = print }, "cannot encode a function" },
      { 0 / 0, "NaN or infinite" },
      { math.huge, "NaN or infinite" },
      { "a\0b", "NUL byte" },
      { { ["a\0b"] = 1 }, "NUL byte" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(json.encode, c[1])
      assert.is_false(ok)
      assert.matches("cannot encode to JSON: .*" .. c[2]:gsub("%p", "%%%0"), err)
    end
  end)

  it("bounds nesting depth and catches a table that contains itself", function()
    local t = {}
    t.self = t
    assert.has_error(function() json.encode(t) end,
      "cannot encode to JSON: nested too deep (or a table contains itself)")
    local deep = {}
    local cur = deep
    for _ = 1, 199 do cur.a = {}; cur = cur.a end
    assert.is_string(json.encode(deep))
    cur.a = {}
    assert.has_error(function() json.encode(deep) end)
  end)
end)

describe("json fuzzing", function()
  -- A deterministic generator, so a failure can be replayed.
  -- seed * 1103515245 + 12345 mod 2^31, the multiplier split as 16838 * 2^16 + 20077 so that no
  -- step passes 2^53: the same sequence in LuaJIT's doubles as in Lua 5.4's integers.
  local seed = 12345
  local function rand(n)
    seed = ((seed * 16838 % 32768) * 65536 + seed * 20077 + 12345) % 2147483648
    return seed % n + 1
  end

  local function value(depth)
    local k = rand(depth > 4 and 5 or 7)
    if k == 1 then return rand(1000000) - 500000
    elseif k == 2 then return (rand(1000000) - 500000) / 64
    elseif k == 3 then
      local s = {}
      for i = 1, rand(12) - 1 do s[i] = string.char(rand(255)) end
      return table.concat(s)
    elseif k == 4 then return rand(2) == 1
    elseif k == 5 then return dockerpty.null
    elseif k == 6 then
      local t = dockerpty.array()
      for i = 1, rand(5) - 1 do t[i] = value(depth + 1) end
      return t
    else
      local t = {}
      for i = 1, rand(5) - 1 do t["k" .. i .. string.char(rand(200) + 32)] = value(depth + 1) end
      return t
    end
  end

  it("round-trips 3000 random values", function()
    for _ = 1, 3000 do
      local v = value(0)
      local text = json.encode(v)
      local back, err = json.decode(text)
      assert(back ~= nil, err)
      assert.same(v, back)
    end
  end)

  it("never crashes on 20000 mutated documents", function()
    local corpus = {
      '{"Id":"abc","State":{"Running":true,"ExitCode":0},"Names":["/x"]}',
      '[1,2.5,"s\\u00e4",null,{"a":[[]]}]',
      '{"message":"No such container: x"}',
    }
    local alphabet = '{}[]",:\\ u0123456789.eE+-truefalsenull\0\255'
    for i = 1, 20000 do
      local s = corpus[i % #corpus + 1]
      for _ = 1, rand(4) do
        local pos = rand(#s + 1)
        local op = rand(3)
        local ci = rand(#alphabet)
        local c = alphabet:sub(ci, ci)
        if op == 1 then s = s:sub(1, pos - 1) .. c .. s:sub(pos)
        elseif op == 2 then s = s:sub(1, pos - 1) .. s:sub(pos + 1)
        else s = s:sub(1, pos - 1) .. c .. s:sub(pos + 1) end
      end
      local v, err = json.decode(s)
      if v == nil then
        assert.is_string(err)
      else
        -- whatever decodes must encode again
        assert.is_string(json.encode(v))
      end
    end
  end)
end)
