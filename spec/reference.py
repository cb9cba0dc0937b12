"""The language reference in Markdown, generated from the registry, the vocabularies and the error codes.

The README embeds it between markers; a test keeps the two equal, so the
documentation cannot drift from the code (`dslc reference --write README.md`).
"""

from __future__ import annotations

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from dslc.spec.codes import CODES
from dslc.spec.layers import REGISTRY
from dslc.spec.vocab import DATA_SOURCES, LOSSES, METRICS, OPTIMIZERS, SCHEDULES, Vocabulary

START, END = "<!-- reference:start -->", "<!-- reference:end -->"


def _parameters(model: type[BaseModel], positional: tuple[str, ...] = ()) -> str:
    parts = []
    for name, field in model.model_fields.items():
        if name == "kind":
            continue
        mark = "*" if name in positional else ""
        if field.is_required():
            parts.append(f"`{mark}{name}`")
        else:
            default = field.default if field.default is not PydanticUndefined else None
            parts.append(f"`{mark}{name}={_show(default)}`")
    return ", ".join(parts) or "—"


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _vocabulary(vocabulary: Vocabulary) -> list[str]:
    return [f"| `{name}` | {_parameters(model, vocabulary.positional.get(name, ()))} |"
            for name, model in vocabulary.choices.items()]


def reference_markdown() -> str:
    lines = [START, "", "#### Layer kinds", "",
             "Parameters marked `*` may be given positionally in the DSL, in the order shown.", "",
             "| kind | parameters | what it does |", "|---|---|---|"]
    for name, kind in sorted(REGISTRY.items(), key=lambda item: (item[1].category, item[0])):
        lines.append(f"| `{name}` | {_parameters(kind.params, kind.positional)} | {kind.summary()} |")
    for title, vocabulary in (("Optimizers", OPTIMIZERS), ("Learning-rate schedules", SCHEDULES),
                              ("Losses", LOSSES), ("Metrics", METRICS), ("Data sources", DATA_SOURCES)):
        lines.extend(["", f"#### {title}", "", "| name | parameters |", "|---|---|", *_vocabulary(vocabulary)])
    lines.extend(["", "#### Error codes", "", "| code | meaning |", "|---|---|"])
    lines.extend(f"| `{code}` | {meaning} |" for code, meaning in CODES.items())
    lines.extend(["", END])
    return "\n".join(lines)


def replace_in(text: str) -> str:
    """`text` with the part between the markers replaced by the current reference."""
    start, end = text.index(START), text.index(END) + len(END)
    return text[:start] + reference_markdown() + text[end:]
