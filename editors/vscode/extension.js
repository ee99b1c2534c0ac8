// Starts `allot lsp` for allot policies. Everything the editor shows comes from the server.
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('allot').get('path') || 'allot';
  client = new LanguageClient(
    'allot',
    'allot',
    { command, args: ['lsp'] },
    { documentSelector: [{ scheme: 'file', language: 'allot' }] },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
