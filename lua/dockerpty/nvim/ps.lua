-- :DockerPs: the containers in a buffer of their own, with docker ps's columns; keys on a
-- row act on its container. One such buffer: a second :DockerPs refreshes it where it is.
local api = vim.api
local flags = require "dockerpty.flags"

local M = {}

-- What each list shows, by buffer: its query and the container on each row.
local views = {}

M.FLAGS = {
  { short = "a", long = "all", kind = "bool", help = "Show all containers (default shows just running)" },
  { short = "f", long = "filter", kind = "list", help = "Filter output based on conditions provided (key=value)" },
}

local function nvim() return require "dockerpty.nvim" end

local function notify(msg, level)
  vim.notify("dockerpty: " .. msg, level or vim.log.levels.ERROR)
end

-- The lines docker ps prints for list, the header first: the command's own table, its
-- engine strings escaped, so that a row is one line whatever a container holds.
function M.lines(list)
  local lines = {}
  for l in require("dockerpty.cli.ps").format(list, "table"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  return lines
end

-- The list again, into the buffer; the cursor stays on its line. -> true | nil, shown
local function refresh(buf)
  local state = views[buf]
  local client = nvim().client()
  if not client then return end
  local list, err = client:containers { all = state.all, filters = state.filters }
  if not list then return notify(err) end
  local ids = {}
  for i, c in ipairs(list) do ids[i] = c.Id end
  local lines = M.lines(list)
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  state.ids = ids
  return true
end

-- The container on the cursor's row, or nil on the header.
local function current(buf)
  return views[buf].ids[api.nvim_win_get_cursor(0)[1] - 1]
end

-- A terminal for the row's container, in the window above (made when there is none), so
-- that the list stays in sight: attached when it has a tty, else a shell exec'd in it.
local function enter(buf)
  local id = current(buf)
  if not id then return end
  local client = nvim().client()
  if not client then return end
  local info, err = client:inspect_container(id)
  if not info then return notify(err) end
  if not info.State.Running then return notify("You cannot attach to a stopped container, start it first") end
  if info.State.Paused then return notify("You cannot attach to a paused container, unpause it first") end
  local name = info.Name:gsub("^/", "")
  local from = api.nvim_get_current_win()
  vim.cmd("aboveleft split")
  local made = api.nvim_get_current_win()
  local session
  if info.Config.Tty then
    session = nvim().open({ container = id }, name, { redraw = true })
  else
    session = nvim().open({ container = id, command = { "sh" } }, name .. ":sh")
  end
  if not session and api.nvim_win_is_valid(made) then
    api.nvim_win_close(made, true)
    if api.nvim_win_is_valid(from) then api.nvim_set_current_win(from) end
  end
end

local function remove(buf)
  local id = current(buf)
  if not id then return end
  local client = nvim().client()
  if not client then return end
  local ok, err = client:remove_container(id, { force = true })
  if not ok then notify(err) end
  refresh(buf)
end

-- open(args): args as the command gives them, a string, or a list of words.
function M.open(args)
  local list, err = args, nil
  if type(args) ~= "table" then list, err = require("dockerpty.session").split_command(args or "") end
  if not list then return notify(err) end
  local opts, rest = flags.parse(list, M.FLAGS, true)
  if not opts then return notify(rest) end
  if #rest > 0 then return notify('"DockerPs" accepts no arguments') end
  local filters
  for _, f in ipairs(opts.filter or {}) do
    local k, v = f:match("^([^=]+)=(.*)$")
    if not k then return notify(("bad format of filter (expected name=value): %s"):format(f)) end
    filters = filters or {}
    filters[k] = filters[k] or {}
    table.insert(filters[k], v)
  end
  local client = nvim().client()
  if not client then return end
  -- asked first, so that a refusal (a bad filter) leaves the windows as they were
  local found, lerr = client:containers { all = opts.all == true, filters = filters }
  if not found then return notify(lerr) end

  local buf
  for _, b in ipairs(api.nvim_list_bufs()) do
    if views[b] and api.nvim_buf_is_valid(b) then buf = b end
  end
  local win = buf and vim.fn.win_findbuf(buf)[1]
  if win and api.nvim_win_get_tabpage(win) == api.nvim_get_current_tabpage() then
    api.nvim_set_current_win(win)
  elseif buf then
    vim.cmd("botright split")
    api.nvim_win_set_buf(0, buf)
  else
    vim.cmd("botright new")
    buf = api.nvim_get_current_buf()
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "wipe"
    vim.bo[buf].swapfile = false
    vim.bo[buf].filetype = "dockerps"
    pcall(api.nvim_buf_set_name, buf, "docker://ps")
    local function map(lhs, fn, desc)
      vim.keymap.set("n", lhs, function() fn(buf) end, { buffer = buf, nowait = true, silent = true, desc = desc })
    end
    map("<CR>", enter, "attach to the container, or a shell in it")
    map("D", remove, "remove the container")
    map("r", refresh, "list the containers again")
    map("q", function() vim.cmd(#api.nvim_list_wins() > 1 and "close" or "bwipeout") end, "close the list")
    api.nvim_create_autocmd("BufWipeout", { buffer = buf, callback = function() views[buf] = nil end })
  end
  vim.wo.wrap = false
  views[buf] = { all = opts.all == true, filters = filters, ids = {} }
  refresh(buf)
  if api.nvim_win_get_cursor(0)[1] == 1 and api.nvim_buf_line_count(buf) > 1 then
    api.nvim_win_set_cursor(0, { 2, 0 })
  end
  return buf
end

return M
