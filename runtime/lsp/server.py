"""The pygls server: document sync and the handlers, each a thin call into `features`, `completion`, `rename`,
`semantic` or `fixes`.

Diagnostics are pushed after each open and change, or pulled (`textDocument/diagnostic`) by a client that says it
pulls them. An edit's analysis waits `DEBOUNCE_SECONDS` first, and is dropped when a newer edit arrives meanwhile:
while someone types, only the text they stop at is analysed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from dslc.runtime.lsp import features
from dslc.runtime.lsp.analysis import DocumentAnalysis, Documents, Valid, syntax_of
from dslc.runtime.lsp.completion import completions
from dslc.runtime.lsp.fixes import fix_for
from dslc.runtime.lsp.links import CodeLinks, checkout_docs
from dslc.runtime.lsp.positions import character_column, to_range
from dslc.runtime.lsp.rename import RenameRefused, rename
from dslc.runtime.lsp.semantic import TOKEN_MODIFIERS, TOKEN_TYPES, semantic_tokens
from dslc.runtime.rewrite import canonical_text
from dslc.spec.errors import DslcErrors, Span
from dslc.spec.load import load_text

DEBOUNCE_SECONDS = 0.05


class SpecServer(LanguageServer):
    def __init__(self, version: str) -> None:
        super().__init__("dslc", version, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.documents = Documents()
        self.links = CodeLinks(checkout_docs())
        self.hint_params = False  # initializationOptions.inlayHintParameters: parameters in the inlay hints too

    def path_of(self, uri: str) -> str:
        return to_fs_path(uri) or uri

    def text_lines(self, uri: str) -> tuple[str, list[str]]:
        """The document's text and its lines, split where LSP splits them (\\n, \\r\\n)."""
        text = self.workspace.get_text_document(uri).source
        return text, [line.removesuffix("\r") for line in text.split("\n")]

    def document_version(self, uri: str) -> int:
        return self.workspace.get_text_document(uri).version or 0

    def analyse(self, uri: str) -> DocumentAnalysis | None:
        """The findings of the document's current text (analysed once per version); None for a non-spec."""
        path = self.path_of(uri)
        syntax = syntax_of(path)
        if syntax is None:
            return None
        text, _ = self.text_lines(uri)
        return self.documents.update(uri, self.document_version(uri), text, path, syntax)

    def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        result = self.analyse(uri)
        if result is None:
            return []
        _, lines = self.text_lines(uri)
        valid = result.valid
        fixes = {finding: fix_for(finding, lines, valid.loaded) for finding in result.findings} if valid else {}
        return features.diagnostics(result.findings, uri, lines, self.links, fixes)

    @property
    def pulls_diagnostics(self) -> bool:
        text_document = self.client_capabilities.text_document
        return text_document is not None and text_document.diagnostic is not None

    def publish(self, uri: str) -> None:
        if not self.pulls_diagnostics:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, self.diagnostics(uri)))

    def valid(self, uri: str) -> Valid | None:
        return self.documents.valid(uri)

    def location(self, uri: str, span: Span | None) -> types.Location | None:
        return types.Location(uri, to_range(span, self.text_lines(uri)[1])) if span else None


def build_server(version: str) -> SpecServer:
    server = SpecServer(version)

    @server.feature(types.INITIALIZE)
    def initialize(ls: SpecServer, params: types.InitializeParams) -> None:
        options: Any = params.initialization_options
        if not isinstance(options, dict):
            return
        if isinstance(options.get("docsUrl"), str):
            ls.links = CodeLinks(options["docsUrl"])
        ls.hint_params = options.get("inlayHintParameters") is True

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpecServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: SpecServer, params: types.DidChangeTextDocumentParams) -> None:
        uri, version = params.text_document.uri, params.text_document.version
        await asyncio.sleep(DEBOUNCE_SECONDS)
        if ls.document_version(uri) == version:  # else a newer edit has arrived: its own call analyses that text
            ls.publish(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpecServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)
        if not ls.pulls_diagnostics:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(params.text_document.uri, []))

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, types.DiagnosticOptions(
        identifier="dslc", inter_file_dependencies=False, workspace_diagnostics=False))
    def diagnostic(ls: SpecServer, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
        uri = params.text_document.uri
        result_id = str(ls.document_version(uri))
        if params.previous_result_id == result_id and ls.documents.analysed_version(uri) == ls.document_version(uri):
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id)
        return types.RelatedFullDocumentDiagnosticReport(ls.diagnostics(uri), result_id=result_id)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: SpecServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        valid = ls.valid(uri)
        if valid is None:
            return None
        column = character_column(ls.text_lines(uri)[1], params.position)
        text = features.hover(valid, params.position.line + 1, column)
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text)) if text else None

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
    def inlay_hint(ls: SpecServer, params: types.InlayHintParams) -> list[types.InlayHint]:
        valid = ls.valid(params.text_document.uri)
        if valid is None:
            return []
        _, lines = ls.text_lines(params.text_document.uri)
        first, last = params.range.start.line, params.range.end.line
        hints = features.inlay_hints(valid, lines, ls.hint_params)
        return [hint for hint in hints if first <= hint.position.line <= last]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(ls: SpecServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        valid = ls.valid(params.text_document.uri)
        return features.symbols(valid, ls.text_lines(params.text_document.uri)[1]) if valid else []

    def at_cursor(ls: SpecServer, uri: str, position: types.Position) -> tuple[Valid, int, int] | None:
        """The current analysis and the 1-based line and column of `position`: None while the text is broken
        (the last valid analysis' spans would point at the wrong places)."""
        valid = ls.documents.current(uri, ls.document_version(uri)) if ls.analyse(uri) else None
        if valid is None:
            return None
        return valid, position.line + 1, character_column(ls.text_lines(uri)[1], position)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: SpecServer, params: types.DefinitionParams) -> types.Location | None:
        cursor = at_cursor(ls, params.text_document.uri, params.position)
        return ls.location(params.text_document.uri, features.definition(*cursor)) if cursor else None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def references(ls: SpecServer, params: types.ReferenceParams) -> list[types.Location]:
        uri = params.text_document.uri
        cursor = at_cursor(ls, uri, params.position)
        if cursor is None:
            return []
        _, lines = ls.text_lines(uri)
        return [types.Location(uri, to_range(span, lines))
                for span in features.references(*cursor, params.context.include_declaration)]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    def highlight(ls: SpecServer, params: types.DocumentHighlightParams) -> list[types.DocumentHighlight]:
        uri = params.text_document.uri
        cursor = at_cursor(ls, uri, params.position)
        _, lines = ls.text_lines(uri)
        return [types.DocumentHighlight(to_range(span, lines))
                for span in (features.references(*cursor, True) if cursor else [])]

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=["(", "{", ",", "=", ":", "-", " ", "$", "["]))
    def completion(ls: SpecServer, params: types.CompletionParams) -> list[types.CompletionItem]:
        uri = params.text_document.uri
        syntax = syntax_of(ls.path_of(uri))
        if syntax is None:
            return []
        _, lines = ls.text_lines(uri)
        valid = ls.valid(uri)
        return completions(lines, params.position.line, character_column(lines, params.position) - 1, syntax,
                           valid.loaded.spec if valid else None)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: SpecServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return features.quick_fixes(params.text_document.uri, params.context.diagnostics)

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def rename_symbol(ls: SpecServer, params: types.RenameParams) -> types.WorkspaceEdit:
        uri = params.text_document.uri
        cursor = at_cursor(ls, uri, params.position)
        if cursor is None:
            raise JsonRpcInvalidRequest("the spec has errors: fix them before renaming")
        valid, line, column = cursor
        _, lines = ls.text_lines(uri)
        try:
            spans = rename(valid.loaded, lines, line, column, params.new_name)
        except RenameRefused as refused:
            raise JsonRpcInvalidRequest(str(refused)) from None
        return types.WorkspaceEdit(changes={uri: [types.TextEdit(to_range(span, lines), params.new_name)
                                                  for span in spans]})

    @server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
                    types.SemanticTokensLegend(list(TOKEN_TYPES), list(TOKEN_MODIFIERS)))
    def tokens(ls: SpecServer, params: types.SemanticTokensParams) -> types.SemanticTokens:
        uri = params.text_document.uri
        if syntax_of(ls.path_of(uri)) != "dsl":  # YAML has its own highlighting
            return types.SemanticTokens([])
        return types.SemanticTokens(semantic_tokens(ls.text_lines(uri)[1]))

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
