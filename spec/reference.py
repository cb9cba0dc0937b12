"""The language reference in Markdown, generated from the registry, the vocabularies, the error codes and the
lint rules' examples.

The README embeds it between markers; a test keeps the two equal, so the
documentation cannot drift from the code (`dslc reference --write README.md`).
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from dslc.spec.codes import CODES
from dslc.spec.layers import REGISTRY
from dslc.spec.layers._init import MEANINGS, VARIANCE_SCALED_NORMALS
from dslc.spec.lint_examples import LINT_EXAMPLES
from dslc.spec.printed import float_text
from dslc.spec.vocab import DATA_SOURCES, INITS, LOSSES, METRICS, OPTIMIZERS, SCHEDULES, TOKENIZERS, Vocabulary

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
    if isinstance(value, float):
        return float_text(value)  # as `dslc fmt` writes it
    return str(value)


def _values(annotation: Any, metadata: tuple[Any, ...] = ()) -> list[str]:
    """What a field accepts, in words: each literal in backticks, a bounded number, a list."""
    origin = get_origin(annotation)
    if origin is Literal:
        return [f"`{value}`" for value in get_args(annotation)]
    if origin in (Union, types.UnionType):
        return [word for member in get_args(annotation) for word in _values(member)]
    if origin is not None and hasattr(annotation, "__metadata__"):  # Annotated[int, Field(ge=1)]
        constraints = [getattr(item, "metadata", [item]) for item in annotation.__metadata__]  # a Field's own
        return _values(get_args(annotation)[0], tuple(c for group in constraints for c in group))
    if origin is tuple:
        return ["a list"]
    bounds = [f" >= {item.ge}" for item in metadata if isinstance(item, Ge)]
    bounds += [f" > {item.gt}" for item in metadata if isinstance(item, Gt)]
    words = {bool: "`true` or `false`", int: "an integer", float: "a number", str: "a string", type(None): "`null`"}
    return [words.get(annotation, getattr(annotation, "__name__", str(annotation))) + "".join(bounds)]


def _option_values() -> list[str]:
    """One row per layer option with a closed set of names (the kinds sharing it in one row)."""
    kinds_of: dict[tuple[str, str], list[str]] = {}
    for name, kind in sorted(REGISTRY.items()):
        for option, field in kind.params.model_fields.items():
            values = _values(field.annotation, tuple(field.metadata))
            if any(value.startswith("`") and value not in ("`null`", "`true` or `false`") for value in values):
                kinds_of.setdefault((option, ", ".join(values)), []).append(f"`{name}`")
    return [f"| `{option}` | {values} | {', '.join(kinds)} |" for (option, values), kinds in sorted(kinds_of.items())]


def _vocabulary(vocabulary: Vocabulary) -> list[str]:
    return [f"| `{name}` | {_parameters(model, vocabulary.positional.get(name, ()))} |"
            for name, model in vocabulary.choices.items()]


def reference_markdown() -> str:
    lines = [START, "", "#### Layer kinds", "",
             "Parameters marked `*` may be given positionally in the DSL, in the order shown.", "",
             "| kind | parameters | what it does |", "|---|---|---|"]
    for name, kind in sorted(REGISTRY.items(), key=lambda item: (item[1].category, item[0])):
        lines.append(f"| `{name}` | {_parameters(kind.params, kind.positional)} | {kind.summary()} |")
    lines.extend(["", "#### Layer option values", "",
                  "The options that take names, and what each accepts (`*_init`: see the initialisers below).", "",
                  "| option | values | kinds |", "|---|---|---|", *_option_values(),
                  "", "#### Initialisers", "",
                  "`<p>_init` for a parameter `<p>` (`kernel_init`, `bias_init`, ...), flat beside it: "
                  "`kernel_init: normal, kernel_std: 0.02` (DSL: `kernel_init=normal, kernel_std=0.02`). "
                  "Unset: Flax's default (LeCun normal kernels, zero biases). `fan_in` and `fan_out` count the "
                  f"window (a 3x3 convolution over `c` channels: `fan_in = 9c`). {VARIANCE_SCALED_NORMALS}", "",
                  "| name | draws |", "|---|---|", *(f"| `{name}` | {text} |" for name, text in MEANINGS.items())])
    for title, vocabulary in (("Optimizers", OPTIMIZERS), ("Learning-rate schedules", SCHEDULES),
                              ("Losses", LOSSES), ("Metrics", METRICS), ("Data sources", DATA_SOURCES),
                              ("Tokenizers (`text(tokenizer=...)`)", TOKENIZERS), ("Initial weights (`init`)", INITS)):
        lines.extend(["", f"#### {title}", "", "| name | parameters |", "|---|---|", *_vocabulary(vocabulary)])
    lines.extend(["", "#### Error codes", "", "| code | meaning |", "|---|---|"])
    lines.extend(f"| `{code}` | {meaning} |" for code, meaning in CODES.items())
    lines.extend(["", *_lint_rules(), "", END])
    return "\n".join(lines)


def _lint_rules() -> list[str]:
    """Each lint rule: its code, name and summary, then a spec it flags and the same spec fixed."""
    lines = ["#### Lint rules", "",
             "Warnings of `dslc check` (exit 0 unless `--warnings-as-errors`; docs/lint.md says how to select, "
             "configure and suppress them). Each rule with a spec it flags and the spec fixed:", ""]
    for code, example in LINT_EXAMPLES.items():
        lines.extend([f"<details><summary><code>{code}</code> {example.name}: {CODES[code]}</summary>", "",
                      "Flagged:", "", "```", example.bad.rstrip("\n"), "```", "", "Fixed:", "", "```",
                      example.good.rstrip("\n"), "```", "", "</details>"])
    return lines


def replace_in(text: str) -> str:
    """`text` with the part between the markers replaced by the current reference."""
    start, end = text.index(START), text.index(END) + len(END)
    return text[:start] + reference_markdown() + text[end:]
