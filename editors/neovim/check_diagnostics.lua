-- Opens a spec in Neovim, attaches `dslc lsp` with the built-in LSP client and waits for its diagnostics.
-- Works on Neovim 0.7 and later (vim.lsp.start_client + vim.lsp.buf_attach_client). Run headless:
--
--   DSLC_SPEC=broken.dsl DSLC_EXPECT_CODE=E104 nvim --headless --clean -n -c 'luafile check_diagnostics.lua'
--
-- Environment:
--   DSLC_SPEC         the spec to open (.dsl, .yaml or .yml); required
--   DSLC_LSP_CMD      the server's command line as a JSON list (default ["dslc", "lsp"])
--   DSLC_EXPECT_CODE  a diagnostic code that must arrive (e.g. E104); without it any diagnostic will do;
--                     `none`: the server must publish an empty list (a valid spec)
--   DSLC_TIMEOUT_MS   how long to wait for it (default 30000)
--
-- Prints one line per diagnostic (`path:line:col: severity[code] message`, 1-based) and exits 0 when one with the
-- expected code arrived (or, for `none`, an empty list), 1 when none did in time, 2 when the server could not
-- start or exited, 3 on bad usage.

local function say(text)
  io.stdout:write(text .. '\n')
  io.stdout:flush()
end

local function quit(status)
  if status == 0 then
    vim.cmd('qall!')
  else
    vim.cmd('cquit ' .. status)
  end
end

local spec = os.getenv('DSLC_SPEC')
if not spec or spec == '' then
  say('check_diagnostics: set DSLC_SPEC to the spec to open')
  return quit(3)
end
spec = vim.fn.fnamemodify(spec, ':p')
local cmd = vim.fn.json_decode(os.getenv('DSLC_LSP_CMD') or '["dslc", "lsp"]')
local expected = os.getenv('DSLC_EXPECT_CODE')
if expected == '' then
  expected = nil
end
local timeout = tonumber(os.getenv('DSLC_TIMEOUT_MS') or '') or 30000

if vim.fn.executable(cmd[1]) ~= 1 then
  say('check_diagnostics: ' .. cmd[1] .. ' is not an executable (install the server: pip install \'dslc[lsp]\')')
  return quit(2)
end

vim.o.swapfile = false
vim.cmd('edit ' .. vim.fn.fnameescape(spec))
local bufnr = vim.api.nvim_get_current_buf()
if spec:match('%.dsl$') then
  vim.bo[bufnr].filetype = 'dslc' -- Neovim knows no .dsl files; the language id the server is told
elseif vim.bo[bufnr].filetype == '' then
  vim.bo[bufnr].filetype = 'yaml'
end

local exited = nil
local published = false -- a publishDiagnostics for the spec arrived (an empty one included)
local client_id = vim.lsp.start_client({
  name = 'dslc',
  cmd = cmd,
  root_dir = vim.fn.fnamemodify(spec, ':h'),
  handlers = {
    ['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
      vim.lsp.handlers['textDocument/publishDiagnostics'](err, result, ctx, config)
      if result and vim.uri_to_bufnr(result.uri) == bufnr then
        published = true
      end
    end,
  },
  on_exit = function(code, signal)
    exited = string.format('exit code %s, signal %s', tostring(code), tostring(signal))
  end,
})
if not client_id then
  say('check_diagnostics: the client did not start: ' .. table.concat(cmd, ' '))
  return quit(2)
end
vim.lsp.buf_attach_client(bufnr, client_id)

local function code_of(diagnostic)
  if diagnostic.code ~= nil then
    return tostring(diagnostic.code)
  end
  local lsp = diagnostic.user_data and diagnostic.user_data.lsp -- Neovim 0.7 keeps the code only here
  return lsp and lsp.code ~= nil and tostring(lsp.code) or ''
end

local function arrived()
  if expected == 'none' then
    return published and #vim.diagnostic.get(bufnr) == 0
  end
  for _, diagnostic in ipairs(vim.diagnostic.get(bufnr)) do
    if expected == nil or code_of(diagnostic) == expected then
      return true
    end
  end
  return false
end

local ok = vim.wait(timeout, function()
  return exited ~= nil or arrived()
end, 50)

local severities = { 'error', 'warning', 'info', 'hint' }
local diagnostics = vim.diagnostic.get(bufnr)
table.sort(diagnostics, function(a, b)
  return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
end)
for _, diagnostic in ipairs(diagnostics) do
  say(string.format('%s:%d:%d: %s[%s] %s', vim.fn.fnamemodify(spec, ':t'), diagnostic.lnum + 1, diagnostic.col + 1,
    severities[diagnostic.severity] or '?', code_of(diagnostic), (diagnostic.message:gsub('\n', '\n    '))))
end

local status = 0
if exited ~= nil and not arrived() then
  say('check_diagnostics: the server exited (' .. exited .. '); see ' .. vim.lsp.get_log_path())
  status = 2
elseif expected == 'none' and not arrived() then
  say(string.format('check_diagnostics: %s within %d ms', published and 'diagnostics where none were expected'
    or 'no publishDiagnostics', timeout))
  status = 1
elseif not ok or not arrived() then
  say(string.format('check_diagnostics: no diagnostic%s within %d ms', expected and (' ' .. expected) or '', timeout))
  status = 1
elseif expected == 'none' then
  say('check_diagnostics: no diagnostics')
end

vim.lsp.stop_client(client_id)
vim.wait(2000, function()
  return exited ~= nil
end, 50)
quit(status)
