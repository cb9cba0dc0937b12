// The dslc extension: starts `dslc lsp` (the language server over stdio) for .dsl specs, and for YAML
// specs unless `dslc.server.yaml` is off. Plain JavaScript: no build step before `vsce package`.
'use strict';

const vscode = require('vscode');
const { LanguageClient, State } = require('vscode-languageclient/node');

let client;

function documentSelector(config) {
  const selector = [
    { scheme: 'file', language: 'dslc' },
    { scheme: 'untitled', language: 'dslc' },
  ];
  if (config.get('server.yaml', true)) {
    selector.push({ scheme: 'file', language: 'yaml' }, { scheme: 'untitled', language: 'yaml' });
  }
  return selector;
}

function createClient(context) {
  const config = vscode.workspace.getConfiguration('dslc');
  const command = config.get('server.path', 'dslc') || 'dslc';
  const executable = { command, args: ['lsp'] };
  const serverOptions = { run: executable, debug: executable };
  const clientOptions = {
    documentSelector: documentSelector(config),
    outputChannelName: 'dslc',
  };
  return new LanguageClient('dslc', 'dslc language server', serverOptions, clientOptions);
}

async function start(context) {
  client = createClient(context);
  try {
    await client.start();
  } catch (error) {
    const command = vscode.workspace.getConfiguration('dslc').get('server.path', 'dslc');
    vscode.window.showErrorMessage(
      `dslc: could not start "${command} lsp" (${error && error.message ? error.message : error}). ` +
      "Install the server with pip install 'dslc[lsp]', or set dslc.server.path to the dslc executable.");
  }
}

async function stop() {
  if (client && client.state !== State.Stopped) {
    await client.stop();
  }
  client = undefined;
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('dslc.restartServer', async () => {
      await stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('dslc.server')) {
        await stop();
        await start(context);
      }
    }),
  );
  await start(context);
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
