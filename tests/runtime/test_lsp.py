"""`dslc lsp` end to end: a client talks to the server over stdio (pytest-lsp), one server for the module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ON_THE_SERVER = pytest.mark.asyncio(loop_scope="module")  # the tests that share the module's server


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "dslc", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


async def open_document(client: LanguageClient, path: Path, text: str | None = None) -> str:
    """Open `path` (with `text` instead of the file's, if given) and wait for its diagnostics; its URI."""
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri, path.suffix.lstrip("."), 1, text)))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


def line_of(path: Path, fragment: str) -> int:
    """The 0-based line of the first line of `path` that holds `fragment`."""
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()) if fragment in line)


@ON_THE_SERVER
async def test_diagnostics_after_open_and_after_an_edit_that_breaks_the_spec(client: LanguageClient) -> None:
    path = EXAMPLES / "edited_digits_cnn.dsl"  # never written: the editor's text is all the server reads
    text = (EXAMPLES / "digits_cnn.dsl").read_text(encoding="utf-8")
    uri = await open_document(client, path, text)
    assert not client.diagnostics[uri]
    broken = text.replace("maxpool(2)", "maxpol(2)")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(2, uri), [types.TextDocumentContentChangeWholeDocument(broken)]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    [diagnostic] = client.diagnostics[uri]
    assert diagnostic.severity == types.DiagnosticSeverity.Error and diagnostic.code == "E104"
    assert diagnostic.range.start == types.Position(6, 2) and diagnostic.range.end == types.Position(6, 8)
    assert "maxpol" in diagnostic.message and "hint: " in diagnostic.message
    # The last valid analysis still answers while the text is broken.
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(4, 4)))
    assert hover is not None and "(8, 8, 32)" in str(hover.contents)


@ON_THE_SERVER
async def test_a_yaml_error_is_a_diagnostic(client: LanguageClient) -> None:
    text = (EXAMPLES / "digits_cnn.yaml").read_text(encoding="utf-8").replace("conv2d", "conv2", 1)
    uri = await open_document(client, EXAMPLES / "edited_digits_cnn.yaml", text)
    codes = {(d.code, d.severity) for d in client.diagnostics[uri]}
    assert ("E104", types.DiagnosticSeverity.Error) in codes


@ON_THE_SERVER
async def test_hover_on_a_resnet50_layer_and_on_the_model_name(client: LanguageClient) -> None:
    path = EXAMPLES / "resnet50.yaml"
    uri = await open_document(client, path)
    stem = line_of(path, "kernel: 7, stride: 2")
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(stem, 10)))
    assert hover is not None
    text = str(hover.contents)
    assert "conv2d_1" in text and "(112, 112, 64)" in text and "9,408 params" in text
    model = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(line_of(path, "name: resnet50"), 10)))
    assert model is not None and "25,557,032 params" in str(model.contents) and "very-deep" in str(model.contents)


@ON_THE_SERVER
async def test_inlay_hints_for_every_layer_of_digits_cnn(client: LanguageClient) -> None:
    path = EXAMPLES / "digits_cnn.dsl"
    uri = await open_document(client, path)
    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(0, 0), types.Position(100, 0))))
    assert hints is not None
    assert [(hint.position.line, hint.label) for hint in hints] == [
        (4, "→ (8, 8, 32)"), (5, "→ (8, 8, 32)"), (6, "→ (4, 4, 32)"), (7, "→ (4, 4, 64)"), (8, "→ (64)"),
        (9, "→ (64)"), (10, "→ (10)")]


@ON_THE_SERVER
async def test_symbols_and_go_to_definition_of_a_block(client: LanguageClient) -> None:
    path = EXAMPLES / "resnet50.yaml"
    uri = await open_document(client, path)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        types.TextDocumentIdentifier(uri)))
    assert symbols is not None
    names = [symbol.name for symbol in symbols]
    assert names == ["bottleneck", "bottleneck_down", "resnet50"]
    model = symbols[-1]
    assert isinstance(model, types.DocumentSymbol) and model.children
    assert model.children[-1].name == "fc: dense" and model.children[4].name == "layer1: bottleneck_down"
    call = line_of(path, "- bottleneck_down: {filters: 64")
    location = await client.text_document_definition_async(types.DefinitionParams(
        types.TextDocumentIdentifier(uri), types.Position(call, 10)))
    assert isinstance(location, types.Location)
    assert location.range.start.line == line_of(path, "  bottleneck_down:")


@pytest.mark.parametrize("name", ["digits_cnn.dsl", "digits_cnn.yaml"])
@ON_THE_SERVER
async def test_formatting_keeps_comments(client: LanguageClient, name: str) -> None:
    path = EXAMPLES / name
    canonical = path.read_text(encoding="utf-8")
    messy = canonical.replace("dense(10)", "dense( 10 )").replace("{units: 10", "{ units: 10")
    assert messy != canonical
    uri = await open_document(client, EXAMPLES / f"messy_{name}", messy)
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(
        types.TextDocumentIdentifier(uri), types.FormattingOptions(2, True)))
    assert edits is not None and len(edits) == 1
    assert edits[0].new_text == canonical and "# A small CNN" in edits[0].new_text


def test_the_server_never_imports_jax() -> None:
    code = ("import sys; from dslc.runtime.lsp.analysis import analyse_text; "
            f"result = analyse_text(open({str(EXAMPLES / 'resnet50.yaml')!r}).read(), 'resnet50.yaml', 'yaml'); "
            "import dslc.runtime.lsp.server; "
            "assert result.valid is not None; assert 'jax' not in sys.modules, 'jax imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_without_the_lsp_extra_it_names_the_extra() -> None:
    code = "import sys; sys.modules['pygls'] = None; from dslc.runtime.cli import main; sys.exit(main(['lsp']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "pip install 'dslc[lsp]'" in result.stderr


async def complete(client: LanguageClient, uri: str, line: int, character: int) -> dict[str, types.CompletionItem]:
    result = await client.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(uri), types.Position(line, character)))
    items = result.items if isinstance(result, types.CompletionList) else result or []
    return {item.label: item for item in items}


@ON_THE_SERVER
async def test_completion_of_kinds_parameters_and_vocabularies_in_the_dsl(client: LanguageClient) -> None:
    text = ("dslc 1\n\nmodel m(x: [4]) {\n  den\n  conv1d(8, 3, pad\n  dense(4, activation=\n}\n\n"
            "train {\n  loss = \n  optimizer = \n}\n")
    uri = await open_document(client, EXAMPLES / "typed.dsl", text)
    kinds = await complete(client, uri, 3, 5)
    assert "dense" in kinds and "conv2d" in kinds and "Fully connected" in str(kinds["dense"].documentation)
    parameters = await complete(client, uri, 4, 18)
    assert "filters" not in parameters and "kernel" not in parameters  # given positionally
    assert parameters["padding"].detail == "default: 'valid'"
    assert "relu" in await complete(client, uri, 5, 22)
    assert set(await complete(client, uri, 9, 9)) == {"softmax_cross_entropy", "sigmoid_binary_cross_entropy",
                                                         "mse", "mae", "huber"}
    assert "adam" in await complete(client, uri, 10, 14)


@ON_THE_SERVER
async def test_completion_of_kinds_parameters_and_vocabularies_in_yaml(client: LanguageClient) -> None:
    text = ("dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers:\n    - den\n"
            "    - dense: {units: 4, \ntrain:\n  data: \n")
    uri = await open_document(client, EXAMPLES / "typed.yaml", text)
    assert "dense" in await complete(client, uri, 5, 9)
    parameters = await complete(client, uri, 6, 26)
    assert "units" not in parameters and parameters["use_bias"].detail == "default: True"
    assert "digits" in await complete(client, uri, 8, 8)


async def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    """Replace the document's text and wait for its diagnostics."""
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version, uri), [types.TextDocumentContentChangeWholeDocument(text)]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with non-overlapping single-line `edits` applied (ASCII text: UTF-16 units are characters)."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = edit.range.start, edit.range.end
        assert start.line == end.line
        lines[start.line] = lines[start.line][:start.character] + edit.new_text + lines[start.line][end.character:]
    return "\n".join(lines)


@pytest.mark.parametrize(("name", "typo"), [("digits_cnn.dsl", "relu"), ("digits_cnn.yaml", "adam")])
@ON_THE_SERVER
async def test_a_did_you_mean_hint_is_a_quick_fix_that_clears_the_diagnostic(client: LanguageClient, name: str,
                                                                               typo: str) -> None:
    path = EXAMPLES / name
    text = path.read_text(encoding="utf-8").replace(typo, typo[:-1] + "x", 1)
    uri = await open_document(client, EXAMPLES / f"typo_{name}", text)
    [diagnostic] = client.diagnostics[uri]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), diagnostic.range, types.CodeActionContext([diagnostic])))
    assert actions is not None
    [action] = actions
    assert isinstance(action, types.CodeAction) and action.title == f"Change to '{typo}'"
    assert action.edit is not None and action.edit.changes is not None
    await change(client, uri, 2, apply(text, list(action.edit.changes[uri])))
    assert not client.diagnostics[uri]


async def rename_at(client: LanguageClient, uri: str, line: int, character: int, new_name: str) -> list[types.TextEdit]:
    edit = await client.text_document_rename_async(types.RenameParams(
        types.TextDocumentIdentifier(uri), types.Position(line, character), new_name))
    assert edit is not None and edit.changes is not None
    return list(edit.changes[uri])


@pytest.mark.parametrize("name", ["two_branch.dsl", "two_branch.yaml"])
@ON_THE_SERVER
async def test_renaming_a_layer_renames_its_references(client: LanguageClient, name: str) -> None:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    uri = await open_document(client, EXAMPLES / f"renamed_{name}", text)
    reference = next(i for i, line in enumerate(text.split("\n")) if "[local, wide]" in line)
    edits = await rename_at(client, uri, reference, text.split("\n")[reference].index("local") + 1, "near")
    renamed = apply(text, edits)
    assert len(edits) == 2 and "local" not in renamed and "[near, wide]" in renamed
    await change(client, uri, 2, renamed)
    assert not client.diagnostics[uri]


@ON_THE_SERVER
async def test_renaming_a_block_renames_its_calls_and_anything_else_is_refused(client: LanguageClient) -> None:
    path = EXAMPLES / "resnet50.yaml"
    text = path.read_text(encoding="utf-8")
    uri = await open_document(client, EXAMPLES / "renamed_resnet50.yaml", text)
    edits = await rename_at(client, uri, line_of(path, "  bottleneck_down:"), 4, "downsample")
    renamed = apply(text, edits)
    assert len(edits) == 5 and "bottleneck_down" not in renamed and renamed.count("downsample") == 5
    kind = line_of(path, "- dense:")
    with pytest.raises(JsonRpcException, match="only a layer's name or a block's name"):
        await rename_at(client, uri, kind, text.split("\n")[kind].index("dense") + 1, "linear")
    with pytest.raises(JsonRpcException, match="already a name"):
        await rename_at(client, uri, line_of(path, "  bottleneck_down:"), 4, "bottleneck")
