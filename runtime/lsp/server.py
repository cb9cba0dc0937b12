"""The pygls server: document sync and the handlers, each a thin call into `features`, `completion` or `rename`."""

from __future__ import annotations

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from dslc.runtime.lsp import features
from dslc.runtime.lsp.analysis import Documents, Valid, syntax_of
from dslc.runtime.lsp.completion import completions
from dslc.runtime.lsp.positions import character_column, to_range
from dslc.runtime.lsp.rename import RenameRefused, rename
from dslc.runtime.rewrite import canonical_text
from dslc.spec.errors import DslcErrors
from dslc.spec.load import load_text


class SpecServer(LanguageServer):
    def __init__(self, version: str) -> None:
        super().__init__("dslc", version, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.documents = Documents()

    def path_of(self, uri: str) -> str:
        return to_fs_path(uri) or uri

    def text_lines(self, uri: str) -> tuple[str, list[str]]:
        """The document's text and its lines, split where LSP splits them (\\n, \\r\\n)."""
        text = self.workspace.get_text_document(uri).source
        return text, [line.removesuffix("\r") for line in text.split("\n")]

    def publish(self, uri: str) -> None:
        path = self.path_of(uri)
        syntax = syntax_of(path)
        if syntax is None:
            return
        text, lines = self.text_lines(uri)
        result = self.documents.update(uri, text, path, syntax)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri, features.diagnostics(result.findings, uri, lines)))

    def valid(self, uri: str) -> Valid | None:
        return self.documents.valid(uri)


def build_server(version: str) -> SpecServer:
    server = SpecServer(version)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpecServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SpecServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpecServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(params.text_document.uri, []))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: SpecServer, params: types.HoverParams) -> types.Hover | None:
        valid = ls.valid(params.text_document.uri)
        text = features.hover(valid, params.position.line + 1) if valid else None
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text)) if text else None

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
    def inlay_hint(ls: SpecServer, params: types.InlayHintParams) -> list[types.InlayHint]:
        valid = ls.valid(params.text_document.uri)
        if valid is None:
            return []
        _, lines = ls.text_lines(params.text_document.uri)
        first, last = params.range.start.line, params.range.end.line
        return [hint for hint in features.inlay_hints(valid, lines) if first <= hint.position.line <= last]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(ls: SpecServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        valid = ls.valid(params.text_document.uri)
        return features.symbols(valid, ls.text_lines(params.text_document.uri)[1]) if valid else []

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: SpecServer, params: types.DefinitionParams) -> types.Location | None:
        uri = params.text_document.uri
        valid = ls.valid(uri)
        if valid is None:
            return None
        _, lines = ls.text_lines(uri)
        span = features.block_definition(valid, params.position.line + 1, character_column(lines, params.position))
        return types.Location(uri, to_range(span, lines)) if span else None

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=["(", "{", ",", "=", ":", "-", " "]))
    def completion(ls: SpecServer, params: types.CompletionParams) -> list[types.CompletionItem]:
        uri = params.text_document.uri
        syntax = syntax_of(ls.path_of(uri))
        if syntax is None:
            return []
        _, lines = ls.text_lines(uri)
        return completions(lines, params.position.line, character_column(lines, params.position) - 1, syntax)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: SpecServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return features.quick_fixes(params.text_document.uri, params.context.diagnostics)

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def rename_symbol(ls: SpecServer, params: types.RenameParams) -> types.WorkspaceEdit:
        uri = params.text_document.uri
        valid = ls.documents.current(uri)
        if valid is None:
            raise JsonRpcInvalidRequest("the spec has errors: fix them before renaming")
        _, lines = ls.text_lines(uri)
        try:
            spans = rename(valid.loaded, lines, params.position.line + 1, character_column(lines, params.position),
                           params.new_name)
        except RenameRefused as refused:
            raise JsonRpcInvalidRequest(str(refused)) from None
        return types.WorkspaceEdit(changes={uri: [types.TextEdit(to_range(span, lines), params.new_name)
                                                  for span in spans]})

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: SpecServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        uri = params.text_document.uri
        path = ls.path_of(uri)
        syntax = syntax_of(path)
        text, lines = ls.text_lines(uri)
        if syntax is None:
            return None
        try:  # `dslc fmt`: only a spec that loads has a canonical form
            canonical = canonical_text(loaded := load_text(text, syntax, path), loaded.syntax)
        except DslcErrors:
            return None
        return [] if canonical == text else [types.TextEdit(features.whole_document(lines), canonical)]

    return server
