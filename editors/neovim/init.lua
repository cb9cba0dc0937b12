-- dslc specs in Neovim 0.7 to 0.10 (init.lua): .dsl files get the filetype `dslc`, and one `dslc lsp` client
-- attaches to them and to YAML files. (Neovim 0.11 and later: vim.lsp.config + vim.lsp.enable, README "Editors".)
-- The server checks every YAML document as a spec: drop 'yaml' below where your YAML files are not specs.
vim.api.nvim_create_autocmd({ 'BufNewFile', 'BufRead' }, {
  pattern = '*.dsl',
  callback = function(args)
    vim.bo[args.buf].filetype = 'dslc'
  end,
})

local dslc_client = nil
vim.api.nvim_create_autocmd('FileType', {
  pattern = { 'dslc', 'yaml' },
  callback = function(args)
    local client = dslc_client and vim.lsp.get_client_by_id(dslc_client)
    if not client or client.is_stopped() then
      dslc_client = vim.lsp.start_client({ name = 'dslc', cmd = { 'dslc', 'lsp' }, root_dir = vim.fn.getcwd() })
    end
    if dslc_client then
      vim.lsp.buf_attach_client(args.buf, dslc_client)
    end
  end,
})

if vim.lsp.inlay_hint then -- 0.10: the output shape after every layer line
  vim.lsp.inlay_hint.enable(true)
end
