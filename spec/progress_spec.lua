-- docker's jsonmessage display, fed messages as the engine sends them: pure, no engine.
local progress = require "dockerpty.progress"

local function display(opts)
  local out = {}
  local d = progress.new(function(s) out[#out + 1] = s end, opts)
  return d, function() return table.concat(out) end
end

local PULL = {
  { status = "Pulling from dockerpty/blob", id = "latest" },
  { status = "Already exists", progressDetail = {}, id = "caa547488bc0" },
  { status = "Pulling fs layer", progressDetail = {}, id = "c0c29bd2f8c2" },
  { status = "Downloading", progressDetail = { current = 98304, total = 8002643 }, id = "c0c29bd2f8c2",
    progress = "[>   ]   98.3kB/8.003MB" },
  { status = "Downloading", progressDetail = { current = 8002643, total = 8002643 }, id = "c0c29bd2f8c2" },
  { status = "Download complete", progressDetail = {}, id = "c0c29bd2f8c2" },
  { status = "Pull complete", progressDetail = {}, id = "c0c29bd2f8c2" },
  { status = "Digest: sha256:7cdb59ed8de7ee1b0c5a97d781818fbff439b45079dd2c61532957c4a5aa54c6" },
  { status = "Status: Downloaded newer image for 127.0.0.1:5000/dockerpty/blob:latest" },
}

describe("progress", function()
  it("sizes as docker's units.HumanSize", function()
    assert.equal("0B", progress.human_size(0))
    assert.equal("999B", progress.human_size(999))
    assert.equal("98.3kB", progress.human_size(98304))
    assert.equal("8.003MB", progress.human_size(8002643))
    assert.equal("1.99MB", progress.human_size(1994985, 3))
    assert.equal("100kB", progress.human_size(99999))
    assert.equal("1.5GB", progress.human_size(1.5e9))
  end)

  it("draws docker's bar, only past 110 columns, its time left past 50", function()
    local p = { current = 1200000, total = 3000000 }
    assert.equal("[====================>                              ]    1.2MB/3MB", progress.bar(p, 120))
    assert.equal("   1.2MB/3MB", progress.bar(p, 80))
    assert.equal("", progress.bar({}, 120))
    assert.equal("   4.1kB", progress.bar({ current = 4100 }, 120))
    assert.equal("  3.1MB", progress.bar({ current = 3100000, total = 3000000 }, 80):sub(2))
    assert.equal("[==================================================>] 3/3 layers",
      progress.bar({ current = 3, total = 3, units = "layers" }, 200))
    assert.equal("   1.2MB/3MB 15s", progress.bar({ current = 1200000, total = 3000000, start = 90 }, 80, 100))
  end)

  it("on a terminal, gives each layer a line and redraws it in place", function()
    local d, text = display { terminal = true, width = 120 }
    for _, m in ipairs(PULL) do assert.is_true(d:add(m)) end
    local want = table.concat {
      "latest: Pulling from dockerpty/blob\n",
      "\n\27[1A\27[2K\rcaa547488bc0: Already exists \r\27[1B",
      "\n\27[1A\27[2K\rc0c29bd2f8c2: Pulling fs layer \r\27[1B",
      "\27[1A\27[2K\rc0c29bd2f8c2: Downloading [>                                                  ]   98.3kB/8.003MB\r\27[1B",
      "\27[1A\27[2K\rc0c29bd2f8c2: Downloading [==================================================>]  8.003MB/8.003MB\r\27[1B",
      "\27[1A\27[2K\rc0c29bd2f8c2: Download complete \r\27[1B",
      "\27[1A\27[2K\rc0c29bd2f8c2: Pull complete \r\27[1B",
      "Digest: sha256:7cdb59ed8de7ee1b0c5a97d781818fbff439b45079dd2c61532957c4a5aa54c6\n",
      "Status: Downloaded newer image for 127.0.0.1:5000/dockerpty/blob:latest\n",
    }
    assert.equal(want, text())
  end)

  it("elsewhere, prints plain lines and leaves the bars out", function()
    local d, text = display {}
    for _, m in ipairs(PULL) do assert.is_true(d:add(m)) end
    assert.equal(table.concat {
      "latest: Pulling from dockerpty/blob\n",
      "caa547488bc0: Already exists\n",
      "c0c29bd2f8c2: Pulling fs layer\n",
      "c0c29bd2f8c2: Download complete\n",
      "c0c29bd2f8c2: Pull complete\n",
      "Digest: sha256:7cdb59ed8de7ee1b0c5a97d781818fbff439b45079dd2c61532957c4a5aa54c6\n",
      "Status: Downloaded newer image for 127.0.0.1:5000/dockerpty/blob:latest\n",
    }, text())
  end)

  it("gives an errorDetail back as the error, undrawn; 401 as docker words it", function()
    local d, text = display {}
    assert.same({ nil, "unknown blob" }, { d:add { errorDetail = { message = "unknown blob" }, error = "unknown blob" } })
    assert.same({ nil, "authentication is required" }, { d:add { errorDetail = { code = 401, message = "x" } } })
    assert.equal("", text())
  end)

  it("keeps escape sequences from the engine's text off the terminal", function()
    local d, text = display {}
    d:add { status = "evil\27]0;title\7 status", id = "a\27[2J" }
    assert.equal("a[2J: evil]0;title status\n", text())
  end)

  it("moves the cursor back where it was after every layer line, for messages made at random", function()
    math.randomseed(5)
    for _ = 1, 200 do
      local d, text = display { terminal = true, width = 120 }
      local lines, ids = 0, {}
      for _ = 1, math.random(1, 40) do
        local m
        if math.random() < 0.15 then
          m = { status = "Status: something" }
          lines, ids = lines + 1, {}
        else
          local id = ("layer%d"):format(math.random(1, 6))
          m = { status = "Downloading", id = id, progressDetail = { current = math.random(0, 100), total = 100 } }
          if not ids[id] then ids[id] = true; lines = lines + 1 end
        end
        d:add(m)
      end
      -- the cursor's row: one per newline, less the ups, plus the downs
      local s, row = text(), 0
      row = row + select(2, s:gsub("\n", ""))
      for n in s:gmatch("\27%[(%d+)A") do row = row - tonumber(n) end
      for n in s:gmatch("\27%[(%d+)B") do row = row + tonumber(n) end
      assert.equal(lines, row)
      assert.is_nil(s:find("\27%[0[AB]"))
    end
  end)
end)
