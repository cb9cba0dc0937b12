"""Nested spec values compared leaf by leaf, and shown the way a spec writes them.

A value is what the IR holds: numbers, strings, booleans, None, block references
(`$name`), tuples, and pydantic models (a train-section choice such as
`adam(lr=0.002)`, or a record such as `checkpoint`). Two models of the same type
are compared field by field, two tuples of one length item by item, anything
else as a whole: a changed optimizer kind is one change, not one per field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel

from dslc.spec.errors import printable
from dslc.spec.ir import Ref

Path = tuple[str | int, ...]


class _Absent:
    """A key one side does not have (a parameter given on one side only, a layer that does not exist)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


@dataclass(frozen=True)
class ValueChange:
    """One leaf that differs: its key path, both values (ABSENT where missing), and where the new one is written."""

    path: Path
    old: object
    new: object
    location: str = ""

    @property
    def key(self) -> str:
        return path_text(self.path)

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "old": to_json(self.old), "new": to_json(self.new),
                "old_text": show(self.old), "new_text": show(self.new), "location": self.location}


def path_text(path: Path) -> str:
    """`optimizer.lr.peak`, `metrics[1].k`."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def compare(old: object, new: object, path: Path = ()) -> list[ValueChange]:
    """Every differing leaf under `path`, in field order."""
    if isinstance(old, BaseModel) and type(old) is type(new):
        return [change for name in type(old).model_fields
                for change in compare(getattr(old, name), getattr(new, name), (*path, name))]
    if isinstance(old, tuple) and isinstance(new, tuple) and len(old) == len(new):
        return [change for index, (a, b) in enumerate(zip(old, new, strict=True))
                for change in compare(a, b, (*path, index))]
    return [] if same(old, new) else [ValueChange(path, old, new)]


def same(old: object, new: object) -> bool:
    """Equal values: numbers by value (`1` and `1.0` mean one rate), anything else of one type (`true` is not `1`)."""
    if isinstance(old, int | float) and isinstance(new, int | float) and bool not in (type(old), type(new)):
        return old == new
    return type(old) is type(new) and old == new


def show(value: object) -> str:
    """The value as a spec writes it: `0.002`, `relu`, `[3, 3]`, `$filters`, `adam(lr=0.002)`."""
    if value is ABSENT:
        return "(not set)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return printable(value, limit=200)
    if isinstance(value, Ref):
        return f"${printable(value.name)}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, BaseModel):
        fields = ", ".join(f"{name}={show(item)}" for name, item in _set_fields(value).items())
        kind = getattr(value, "kind", None)
        if isinstance(kind, str):
            return f"{kind}({fields})" if fields else kind
        return "{" + fields + "}"
    return repr(value)


def to_json(value: object) -> object:
    """A JSON value: ABSENT is null, a reference `$name`, a model an object of all its fields."""
    if value is ABSENT or value is None or isinstance(value, bool | int | float | str):
        return None if value is ABSENT else value
    if isinstance(value, Ref):
        return f"${value.name}"
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, BaseModel):
        return {name: to_json(getattr(value, name)) for name in type(value).model_fields}
    return repr(value)


def _set_fields(model: BaseModel) -> dict[str, object]:
    """The fields that differ from their defaults (a choice's `kind` is its name, shown apart)."""
    shown: dict[str, object] = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if name == "kind" or (not field.is_required() and same(value, field.get_default(call_default_factory=True))):
            continue
        shown[name] = value
    return shown
