-- Inputs the fuzzers found (fuzz/), kept so that what broke once stays fixed.
local core = require "dockerpty.core"

describe("fuzzer finds", function()
  it("json: a number too large for a double is an error, not infinity", function()
    local v, err = core.json_decode('[1,2.5,{"a":[[]]},-0,1e616]')
    assert.is_nil(v)
    assert.equal("invalid JSON: a number out of range", err)
    v, err = core.json_decode("-1e999")
    assert.is_nil(v)
    assert.equal("invalid JSON: a number out of range", err)
    assert.equal(1e308, core.json_decode("1e308"))
  end)
end)
