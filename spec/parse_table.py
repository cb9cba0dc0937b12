"""The DSL parser's LALR tables, prebuilt: `dslc.lark` analysed by lark once, ahead of time, into `dslc.lark.json`.

Building the parser from the grammar (lark's grammar parsing and LALR analysis) costs about 0.1 s per process,
a third of `dslc check`'s time on a .dsl file; loading the prebuilt tables costs about 3 ms.

The tables are committed package data rather than generated at first use into a user cache folder: nothing is
written outside the working tree at run time, nothing is unpickled (the file is JSON, read with `json`), and the
first run after installing — every run in a CI job or a pre-commit hook — is as fast as any other. They are
kept honest twice over:

- at run time, the file is used only when it records the SHA-256 of the `dslc.lark` beside it and the installed
  lark's version; otherwise the parser is built from the grammar, as before (slower, never wrong);
- `tests/spec/test_parse_table.py` fails when the file is stale against `dslc.lark` or the lark the project
  installs, and checks that the prebuilt parser and one built from the grammar parse alike.

Regenerate after editing `dslc.lark` or upgrading lark: `python -m dslc.spec.parse_table`.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lark import Lark

GRAMMAR = "dslc.lark"
TABLES = "dslc.lark.json"
FORMAT = 1  # the layout of TABLES' envelope


def grammar_text() -> str:
    return resources.files("dslc.spec").joinpath(GRAMMAR).read_text(encoding="utf-8")


def grammar_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _int_keys(pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
    """JSON keys are strings; lark's serialized tables key states and memo entries by int (no grammar name is
    all digits: names start with a letter or '_', and '__type__' keys the class names)."""
    return {int(key) if key.isdigit() else key: value for key, value in pairs}


def load_envelope(text: str) -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads(text, object_pairs_hook=_int_keys)
    return envelope


def prebuilt(grammar: str, postlex: object) -> Lark | None:
    """The parser from the prebuilt tables, or None where they do not fit this grammar or this lark."""
    import lark
    from lark import Lark

    try:
        text = resources.files("dslc.spec").joinpath(TABLES).read_text(encoding="utf-8")
    except OSError:
        return None
    envelope = load_envelope(text)
    if (envelope.get("format") != FORMAT or envelope.get("lark") != lark.__version__
            or envelope.get("grammar_sha256") != grammar_digest(grammar)):
        return None
    # `_load_from_dict` is what lark's own `cache=` option and its standalone parsers load with.
    return Lark._load_from_dict(envelope["data"], envelope["memo"], postlex=postlex)


def serialize(parser: Lark, grammar: str) -> str:
    """`parser`'s tables as TABLES' text. The postlex hook is code, not data: the loader passes it again."""
    import lark
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data["options"] = {name: value for name, value in data["options"].items() if name != "postlex"}
    envelope = {"format": FORMAT, "lark": lark.__version__, "grammar_sha256": grammar_digest(grammar),
                "memo": memo, "data": data}
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")) + "\n"


def main() -> None:
    """Rebuild TABLES next to this module from the grammar (strict: conflicts and collisions fail)."""
    from dslc.spec.dsl_frontend import build_parser

    grammar = grammar_text()
    target = Path(__file__).with_name(TABLES)
    target.write_text(serialize(build_parser(grammar, strict=True), grammar), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
