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

from dslc.runtime.lsp.analysis import analyse_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ON_THE_SERVER = pytest.mark.asyncio(loop_scope="module")  # the tests that share the module's server
SERVER_CAPABILITIES: list[types.ServerCapabilities] = []  # what the module's server answered to `initialize`


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "dslc", "lsp"]))
async def client(lsp_client: LanguageClient):
    result = await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    SERVER_CAPABILITIES.append(result.capabilities)
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


@pytest.mark.parametrize(("name", "first"), [("digits_cnn.dsl", 4), ("digits_cnn.yaml", 6)])
@ON_THE_SERVER
async def test_inlay_hints_for_every_layer_of_digits_cnn(client: LanguageClient, name: str, first: int) -> None:
    uri = await open_document(client, EXAMPLES / name)
    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(0, 0), types.Position(100, 0))))
    assert hints is not None
    shapes = ["(8, 8, 32)", "(8, 8, 32)", "(4, 4, 32)", "(4, 4, 64)", "(64)", "(64)", "(10)"]
    assert [(hint.position.line, hint.label) for hint in hints] == [
        (first + index, f"→ {shape}") for index, shape in enumerate(shapes)]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "dslc", "lsp"]))
async def configured_client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        initialization_options={"inlayHintParameters": True, "docsUrl": "https://example.org/dslc/docs/"}))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_initialization_options_add_parameters_to_hints_and_choose_the_docs(
        configured_client: LanguageClient) -> None:
    text = (EXAMPLES / "digits_cnn.dsl").read_text(encoding="utf-8").replace("maxpool(2)", "maxpol(2)")
    uri = await open_document(configured_client, EXAMPLES / "configured.dsl", text)
    [diagnostic] = configured_client.diagnostics[uri]
    assert diagnostic.code_description is not None
    assert diagnostic.code_description.href == "https://example.org/dslc/docs/errors.md#e1xx-structure"
    await change(configured_client, uri, 2, text.replace("maxpol(2)", "maxpool(2)"))
    hints = await configured_client.text_document_inlay_hint_async(types.InlayHintParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(0, 0), types.Position(100, 0))))
    assert hints is not None
    assert hints[0].label == "→ (8, 8, 32) · 320 params" and hints[2].label == "→ (4, 4, 32)"  # 3*3*32 + 32


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
async def test_completion_of_schedules_metrics_tokenizers_and_initial_weights(client: LanguageClient) -> None:
    text = ("dslc 1\n\nmodel m(x: [4]) {\n  dense(4)\n}\n\ntrain {\n  optimizer = adam(lr=co\n"
            "  metrics = [accuracy, \n  data = text(\"t.txt\", tokenizer=b\n  init = [\n}\n")
    uri = await open_document(client, EXAMPLES / "vocabularies.dsl", text)
    ends = [len(line) for line in text.split("\n")]  # each line's end, where the cursor is
    assert {"cosine", "warmup_cosine"} <= set(await complete(client, uri, 7, ends[7]))
    assert {"top_k", "perplexity"} <= set(await complete(client, uri, 8, ends[8]))
    assert set(await complete(client, uri, 9, ends[9])) == {"bytes", "bpe", "file"}
    assert set(await complete(client, uri, 10, ends[10])) == {"safetensors", "checkpoint"}


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
    with pytest.raises(JsonRpcException, match="only the name of a layer"):
        await rename_at(client, uri, kind, text.split("\n")[kind].index("dense") + 1, "linear")
    with pytest.raises(JsonRpcException, match="already a name"):
        await rename_at(client, uri, line_of(path, "  bottleneck_down:"), 4, "bottleneck")


async def hover_text(client: LanguageClient, uri: str, line: int, character: int) -> str:
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(line, character)))
    assert hover is not None
    return str(hover.contents)


@pytest.mark.parametrize("name", ["resnet50.dsl", "resnet50.yaml"])
@ON_THE_SERVER
async def test_hover_tells_a_layers_doc_inputs_and_depth_role_and_a_block_calls_expansion(
        client: LanguageClient, name: str) -> None:
    path = EXAMPLES / name
    uri = await open_document(client, path)
    stem = line_of(path, "conv2d(64, 7" if name.endswith(".dsl") else "kernel: 7, stride: 2")
    text = await hover_text(client, uri, stem, 6)
    assert "convolution" in text.lower() and "`(224, 224, 3)` from `image`" in text
    assert "opens level 1 of 50" in text
    call = line_of(path, "layer1: bottleneck_down" if name.endswith(".dsl") else "- bottleneck_down: {filters: 64")
    column = path.read_text(encoding="utf-8").split("\n")[call].index("bottleneck_down") + 2
    text = await hover_text(client, uri, call, column)
    assert "**block bottleneck_down**(filters, out, stride)" in text
    # 64->64 1x1, 3x3, 64->256 1x1 and the 64->256 shortcut, with their four batch norms
    assert "1 instance here: 12 layers, 75,008 params" in text and "output `(56, 56, 256)`" in text
    model = line_of(path, "model resnet50" if name.endswith(".dsl") else "name: resnet50")
    text = await hover_text(client, uri, model, 8)
    assert "seeds-strict: very-deep" in text and "hierarchy: very-deep" in text and "cap: very-deep" in text


@pytest.mark.parametrize("name", ["resnet50.dsl", "resnet50.yaml"])
@ON_THE_SERVER
async def test_references_and_definition_of_a_block_parameter_and_its_rename(client: LanguageClient,
                                                                             name: str) -> None:
    path = EXAMPLES / name
    text = path.read_text(encoding="utf-8")
    uri = await open_document(client, EXAMPLES / f"params_{name}", text)
    lines = text.split("\n")
    use = line_of(path, "stride: $stride" if name.endswith(".yaml") else "stride=$stride")
    column = lines[use].index("$stride") + 2
    found = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(use, column),
        context=types.ReferenceContext(include_declaration=True)))
    assert found is not None
    # the declaration, two `$stride` uses in bottleneck_down, and (YAML, where arguments are named) the calls
    assert len(found) == (3 if name.endswith(".dsl") else 7)
    location = await client.text_document_definition_async(types.DefinitionParams(
        types.TextDocumentIdentifier(uri), types.Position(use, column)))
    assert isinstance(location, types.Location)
    declared = lines[location.range.start.line][location.range.start.character:location.range.end.character]
    assert declared == "stride" and "bottleneck_down" in "".join(lines[location.range.start.line - 1:
                                                                         location.range.start.line + 1])
    renamed = apply(text, await rename_at(client, uri, use, column, "step"))
    assert "$stride" not in renamed and renamed.count("$step") == 2
    await change(client, uri, 2, renamed)
    assert not client.diagnostics[uri]


@ON_THE_SERVER
async def test_renaming_a_model_input_renames_its_references(client: LanguageClient) -> None:
    text = (EXAMPLES / "two_branch.dsl").read_text(encoding="utf-8")
    uri = await open_document(client, EXAMPLES / "input_two_branch.dsl", text)
    header = line_of(EXAMPLES / "two_branch.dsl", "model two_branch")
    renamed = apply(text, await rename_at(client, uri, header, text.split("\n")[header].index("image") + 1, "pixels"))
    assert "image" not in renamed and renamed.count("pixels") == 3
    await change(client, uri, 2, renamed)
    assert not client.diagnostics[uri]


@ON_THE_SERVER
async def test_completion_of_blocks_layer_names_block_parameters_and_yaml_block_style(
        client: LanguageClient) -> None:
    text = ("dslc 1\n\nblock pair(width, act=relu) {\n  a: dense($wi\n  dense($width, from=[a, \n}\n\n"
            "model m(x: [4]) {\n  first: dense(4)\n  pa\n  add(from=[first, \n}\n")
    uri = await open_document(client, EXAMPLES / "named.dsl", text)
    assert set(await complete(client, uri, 3, 13)) == {"width", "act"}
    assert set(await complete(client, uri, 4, 25)) == {"input", "a"}
    assert {"pair", "dense"} <= set(await complete(client, uri, 9, 4))
    assert set(await complete(client, uri, 10, 19)) == {"x", "first"}
    yaml_text = ("dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers:\n    - dense:\n        units: 4\n"
                 "        \n")
    uri = await open_document(client, EXAMPLES / "named.yaml", yaml_text)
    parameters = await complete(client, uri, 7, 8)
    assert "use_bias" in parameters and "units" not in parameters


@pytest.mark.parametrize(("name", "original", "fixed"), [
    ("bias.dsl", "conv2d(8, 3)", "conv2d(8, 3, use_bias=false)"),
    ("bias.yaml", "{filters: 8, kernel: 3}", "{filters: 8, kernel: 3, use_bias: false}"),
    ("still.dsl", "  dropout(0.0)\n", ""),
    ("still.yaml", "    - dropout: {rate: 0.0}\n", ""),
])
@ON_THE_SERVER
async def test_a_lint_fix_is_a_code_action_that_clears_the_warning(client: LanguageClient, name: str, original: str,
                                                                   fixed: str) -> None:
    source = "digits_cnn" if name.startswith("bias") else "digits_mlp"
    text = (EXAMPLES / f"{source}{Path(name).suffix}").read_text(encoding="utf-8")
    if name.startswith("bias"):  # a convolution with a bias right before a batch norm
        text = text.replace("conv2d(32, 3, padding=same, activation=relu)", "conv2d(8, 3)\n  batchnorm\n  relu", 1)
        text = text.replace("- conv2d: {filters: 32, kernel: 3, padding: same, activation: relu}",
                            "- conv2d: {filters: 8, kernel: 3}\n    - batchnorm\n    - relu", 1)
    else:  # a dropout of rate 0 before the output layer
        text = text.replace("  dense(10)", "  dropout(0.0)\n  dense(10)", 1).replace(
            "    - dense: {units: 10}", "    - dropout: {rate: 0.0}\n    - dense: {units: 10}", 1)
    assert original in text
    uri = await open_document(client, EXAMPLES / name, text)
    [diagnostic] = client.diagnostics[uri]
    assert diagnostic.code in ("W105", "W102") and diagnostic.code_description is not None
    assert diagnostic.code_description.href.endswith(f"lint.md#{str(diagnostic.code).lower()}")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), diagnostic.range, types.CodeActionContext([diagnostic])))
    assert actions is not None
    [action] = actions
    assert isinstance(action, types.CodeAction) and action.edit is not None and action.edit.changes is not None
    [edit] = action.edit.changes[uri]
    repaired = apply_edit(text, edit)
    assert repaired == text.replace(original, fixed, 1)
    await change(client, uri, 2, repaired)
    assert not client.diagnostics[uri]


def apply_edit(text: str, edit: types.TextEdit) -> str:
    """`text` with one edit applied, which may span lines (ASCII text: UTF-16 units are characters)."""
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    start = starts[edit.range.start.line] + edit.range.start.character
    end = starts[edit.range.end.line] + edit.range.end.character
    return text[:start] + edit.new_text + text[end:]


@ON_THE_SERVER
async def test_an_error_code_links_to_its_section_of_the_error_catalogue(client: LanguageClient) -> None:
    text = (EXAMPLES / "digits_mlp.dsl").read_text(encoding="utf-8").replace("dense(10)", "dense(10, unit=3)")
    uri = await open_document(client, EXAMPLES / "linked.dsl", text)
    [diagnostic] = client.diagnostics[uri]
    assert diagnostic.code_description is not None
    href = diagnostic.code_description.href
    assert href.startswith("file://") and href.endswith(f"errors.md#{str(diagnostic.code)[:2].lower()}xx-structure")


@ON_THE_SERVER
async def test_semantic_tokens_of_a_dsl_spec(client: LanguageClient) -> None:
    path = EXAMPLES / "resnet50.dsl"
    uri = await open_document(client, path)
    result = await client.text_document_semantic_tokens_full_async(types.SemanticTokensParams(
        types.TextDocumentIdentifier(uri)))
    assert result is not None and isinstance(result, types.SemanticTokens)
    provider = SERVER_CAPABILITIES[0].semantic_tokens_provider
    assert isinstance(provider, types.SemanticTokensOptions)
    legend = provider.legend.token_types
    lines, seen, line, column = path.read_text(encoding="utf-8").split("\n"), {}, 0, 0
    for index in range(0, len(result.data), 5):
        delta_line, delta_start, length, kind, _ = result.data[index:index + 5]
        line, column = line + delta_line, (column + delta_start if delta_line == 0 else delta_start)
        seen.setdefault(lines[line][column:column + length], set()).add(legend[kind])
    assert seen["block"] == {"keyword"} and seen["bottleneck_down"] == {"class"}
    assert seen["conv2d"] == {"function"} and seen["$filters"] == {"parameter"} and seen["use_bias"] == {"parameter"}
    assert seen["layer1"] == {"variable"} and seen["64"] == {"number"} and "comment" in seen[lines[0]]


@ON_THE_SERVER
async def test_a_burst_of_edits_is_analysed_once_at_its_last_version(client: LanguageClient) -> None:
    text = (EXAMPLES / "digits_mlp.dsl").read_text(encoding="utf-8")
    uri = await open_document(client, EXAMPLES / "typed_fast.dsl", text)
    typed = [text.replace("dense(10)", edit, 1) for edit in ("dense(1", "dense(12", "dense(12)", "dense(12)\n  dens")]
    for version, edited in enumerate(typed, start=2):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, uri),
            [types.TextDocumentContentChangeWholeDocument(edited)]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    # The first diagnostics to arrive are the last text's (its unknown kind `dens`), not the unclosed call of the
    # first edit: the earlier versions were dropped unanalysed.
    def codes(edited: str) -> list[str]:
        return [finding.code for finding in analyse_text(edited, "typed_fast.dsl", "dsl").findings]
    assert "E104" in codes(typed[-1]) and codes(typed[0]) != codes(typed[-1])
    assert [d.code for d in client.diagnostics[uri]] == codes(typed[-1])


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "dslc", "lsp"]))
async def pulling_client(lsp_client: LanguageClient):
    capabilities = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        diagnostic=types.DiagnosticClientCapabilities()))
    await lsp_client.initialize_session(types.InitializeParams(capabilities=capabilities))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_pull_diagnostics_for_a_client_that_pulls(pulling_client: LanguageClient) -> None:
    path = EXAMPLES / "pulled.yaml"
    text = (EXAMPLES / "digits_cnn.yaml").read_text(encoding="utf-8").replace("maxpool", "maxpol")
    uri = path.as_uri()
    pulling_client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "yaml", 1, text)))
    report = await pulling_client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        types.TextDocumentIdentifier(uri)))
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    assert [d.code for d in report.items] == ["E104"] and report.result_id == "1"
    again = await pulling_client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        types.TextDocumentIdentifier(uri), previous_result_id=report.result_id))
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
    assert uri not in pulling_client.diagnostics  # nothing pushed to a client that pulls


@ON_THE_SERVER
async def test_go_to_definition_of_a_block_and_of_a_layer_in_the_dsl(client: LanguageClient) -> None:
    path = EXAMPLES / "resnet50.dsl"
    uri = await open_document(client, path)
    lines = path.read_text(encoding="utf-8").split("\n")
    call = line_of(path, "layer1: bottleneck_down")
    location = await client.text_document_definition_async(types.DefinitionParams(
        types.TextDocumentIdentifier(uri), types.Position(call, lines[call].index("bottleneck_down") + 1)))
    assert isinstance(location, types.Location) and location.range.start.line == line_of(path, "block bottleneck_down")
    add = line_of(path, "add(from=[main, shortcut])")
    location = await client.text_document_definition_async(types.DefinitionParams(
        types.TextDocumentIdentifier(uri), types.Position(add, lines[add].index("shortcut") + 1)))
    assert isinstance(location, types.Location) and location.range.start.line == line_of(path, "shortcut: batchnorm")
