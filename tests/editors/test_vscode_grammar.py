"""The VS Code extension in editors/vscode: its TextMate grammar knows the language of spec/dslc.lark.

- The grammar loads, is `source.dslc`, and package.json contributes it for the `dslc` language (`*.dsl`).
- Every keyword spec/dslc.lark declares is matched by the grammar's keyword rules (a keyword added to the language
  and not to the grammar fails here), and numbers as the lark grammar writes them are numbers.
- `npm test` (vscode-tmgrammar-test over editors/vscode/tests/) passes, where `npm ci` has been run there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
EXTENSION = ROOT / "editors" / "vscode"
GRAMMAR = EXTENSION / "syntaxes" / "dslc.tmLanguage.json"
LARK = ROOT / "spec" / "dslc.lark"


def _grammar() -> dict:
    return json.loads(GRAMMAR.read_text(encoding="utf-8"))


def _lark_keywords() -> set[str]:
    """Every word-like string literal of the lark grammar (`MODEL: "model"`, or one written inline in a rule)."""
    text = "\n".join(line.split("//", 1)[0] for line in LARK.read_text(encoding="utf-8").splitlines())
    return set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', text))


def _lark_terminal(name: str) -> str:
    match = re.search(rf"^{name}:\s*/(.*)/\s*$", LARK.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"spec/dslc.lark has no terminal {name}"
    return match.group(1)


def test_grammar_loads_and_is_contributed_for_dsl_files() -> None:
    grammar = _grammar()
    assert grammar["scopeName"] == "source.dslc"
    package = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    assert {"name": package["name"], "publisher": package["publisher"]} == {"name": "dslc", "publisher": "dslc"}
    [language] = package["contributes"]["languages"]
    assert language["id"] == "dslc" and language["extensions"] == [".dsl"]
    assert json.loads((EXTENSION / language["configuration"]).read_text(encoding="utf-8"))["comments"] == {
        "lineComment": "#"}
    [contributed] = package["contributes"]["grammars"]
    assert contributed["scopeName"] == grammar["scopeName"] and contributed["language"] == "dslc"
    assert (EXTENSION / contributed["path"]).resolve() == GRAMMAR.resolve()
    assert {"onLanguage:dslc", "onLanguage:yaml"} <= set(package["activationEvents"])
    settings = package["contributes"]["configuration"]["properties"]
    assert settings["dslc.server.path"]["default"] == "dslc"
    assert settings["dslc.server.yaml"]["default"] is True


def test_every_keyword_of_the_language_is_a_keyword_of_the_grammar() -> None:
    keywords = _lark_keywords()
    assert {"dslc", "block", "model", "train", "true", "false", "null"} <= keywords, "reading spec/dslc.lark failed"
    repository = _grammar()["repository"]
    patterns = [re.compile(repository[rule]["match"]) for rule in ("keywords", "constants")]
    missing = sorted(word for word in keywords if not any(pattern.fullmatch(word) for pattern in patterns))
    assert not missing, (f"keywords of spec/dslc.lark that editors/vscode/syntaxes/dslc.tmLanguage.json does not "
                         f"know (its repository's `keywords` or `constants` rule): {missing}")
    # The rules are used: `keywords` at the top level, `constants` among the values.
    assert {"include": "#keywords"} in _grammar()["patterns"]
    assert {"include": "#constants"} in repository["value"]["patterns"]


@pytest.mark.parametrize("text", ["0", "-2", "+3", "10_000", "1e-3", "2.5E+10", ".5", "2.", "0.9", "1_000.000_1"])
def test_numbers_of_the_language_are_numbers_of_the_grammar(text: str) -> None:
    assert re.fullmatch(_lark_terminal("NUMBER"), text), text
    assert re.fullmatch(_grammar()["repository"]["number"]["match"], text), text


@pytest.mark.parametrize("text", ["conv2d", "x1", "int32", "a.5"])
def test_digits_inside_names_are_not_numbers(text: str) -> None:
    assert not re.search(_grammar()["repository"]["number"]["match"], text)


def test_grammar_tests_pass() -> None:
    if not (EXTENSION / "node_modules").is_dir():
        pytest.skip("editors/vscode/node_modules is missing: run `npm ci` there to run the grammar tests "
                    "(CI does not run npm)")
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not on PATH")
    result = subprocess.run([npm, "test"], cwd=EXTENSION, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
