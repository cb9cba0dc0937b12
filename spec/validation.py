"""Running a pydantic model over located data, with errors mapped back to source spans.

pydantic reports a `loc` path per error; the located tree node the data came
from turns that path into a `file:line:col`, and the error type into one of
dslc's stable codes with a message in the spec's own words.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from dslc.spec.errors import DslcError, ErrorSink, Span, closed_set_hint, did_you_mean, show_value
from dslc.spec.sourcemap import IRPath, SourceMap
from dslc.spec.tree import Map, Node, Scalar, Seq, locate
from dslc.spec.vocab import PATH_OUTSIDE, spec_keys

OUTSIDE_HINT = "put the file in the spec's folder (or below it) and give its path relative to the spec"

M = TypeVar("M", bound=BaseModel)

_RANGE_WORDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_TYPE_WORDS = {
    "int_type": "an integer", "int_from_float": "an integer", "float_type": "a number",
    "bool_type": "true or false", "string_type": "a string", "tuple_type": "a list",
    "none_required": "null", "model_type": "a mapping", "dict_type": "a mapping",
}
# When a union reports one error per member, the most specific explanation wins.
_PRIORITY = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long",
             "finite_number", "value_error", "literal_error")


class Locator(Protocol):
    """Where the data validated was written: pydantic's `loc` paths -> spans."""

    def find(self, loc: tuple[Any, ...]) -> tuple[Span, bool]:
        """The span of `loc`, or of the closest thing above it, and whether `loc` itself was found."""
        ...

    def key(self, loc: tuple[Any, ...]) -> Span | None:
        """The span of the key `loc` ends with, when it was written."""
        ...


class TreeLocator:
    """Data that came from a located tree node (during lowering)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def find(self, loc: tuple[Any, ...]) -> tuple[Span, bool]:
        target, found = locate(self.node, loc)
        return target.span, found

    def key(self, loc: tuple[Any, ...]) -> Span | None:
        parent, _ = locate(self.node, loc[:-1])
        entry = parent.get(loc[-1]) if isinstance(parent, Map) and loc else None
        return entry.key_span if entry else None


class MapLocator:
    """Data recorded in a source map under `path` (after lowering)."""

    def __init__(self, source_map: SourceMap, path: IRPath) -> None:
        self.source_map = source_map
        self.path = path

    def find(self, loc: tuple[Any, ...]) -> tuple[Span, bool]:
        span = self.source_map.value((*self.path, *loc))
        return (span, True) if span is not None else (self.source_map.nearest((*self.path, *loc)), False)

    def key(self, loc: tuple[Any, ...]) -> Span | None:
        return self.source_map.key((*self.path, *loc))


def validate(model: type[M], data: dict[str, Any], where: Node | Locator, sink: ErrorSink, what: str) -> M | None:
    """Validate `data` (written where `where` says) as `model`; on failure add located errors and return None.

    `what` names the thing validated in messages, e.g. "conv2d" or "optimizer 'adam'".
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        locator = TreeLocator(where) if isinstance(where, Map | Seq | Scalar) else where
        for field_errors in _by_field(exc.errors()):
            sink.add(_to_dslc_error(_pick(field_errors), model, locator, what))
        return None


def _by_field(errors: list[Any]) -> list[list[Any]]:
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for error in errors:
        key = tuple(step for step in error["loc"] if isinstance(step, int) or not _is_member_tag(step))
        groups.setdefault(key[:1], []).append(error)
    return list(groups.values())


def _is_member_tag(step: object) -> bool:
    """pydantic names union members in `loc` (e.g. "literal['same','valid']"); they are not keys."""
    return isinstance(step, str) and any(ch in step for ch in "[]-'(") and step not in ("",)


def _pick(errors: list[Any]) -> Any:
    for error_type in _PRIORITY:
        for error in errors:
            if error["type"] == error_type:
                return error
    return errors[0]


def _to_dslc_error(error: Any, model: type[BaseModel], where: Locator, what: str) -> DslcError:
    loc = tuple(step for step in error["loc"] if isinstance(step, int) or not _is_member_tag(step))
    target, found = where.find(loc)
    field = ".".join(str(step) for step in loc) or what
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        # The last step is the unknown key as written (even when it looks like a union member tag);
        # report it at the key, which sits in the mapping its parent path leads to.
        key = error["loc"][-1]
        parent = tuple(step for step in error["loc"][:-1] if isinstance(step, int) or not _is_member_tag(step))
        span = where.key((*parent, key)) or where.find(parent)[0]
        return DslcError("E101", f"{what}: unknown key '{key}'", span, hint=closed_set_hint(str(key), spec_keys(model)))
    if kind == "missing":
        return DslcError("E102", f"{what}: missing required key '{field}'", target)
    span = target if found else where.find(())[0]
    if kind == "literal_error":
        hint = did_you_mean(value, _literal_choices(ctx)) if isinstance(value, str) else None
        return DslcError("E203", f"{what}: {field} must be {ctx.get('expected')}, got {show_value(value)}", span,
                         hint=hint)
    if kind == PATH_OUTSIDE:
        return DslcError("E702", f"{what}: {field} {show_value(value)}: {error['msg']}", span, hint=OUTSIDE_HINT)
    if kind == "finite_number":
        return DslcError("E204", f"{what}: {field} must be a finite number, got {show_value(value)}", span)
    for bound, word in _RANGE_WORDS.items():
        if bound in ctx and kind.startswith(("greater", "less")):
            return DslcError("E202", f"{what}: {field} must be {word} {ctx[bound]}, got {show_value(value)}", span)
    if kind in ("too_short", "too_long"):
        return DslcError("E202", f"{what}: {field} has {ctx.get('actual_length')} items; {error['msg'].lower()}",
                         span)
    if kind in _TYPE_WORDS:
        return DslcError("E201", f"{what}: {field} must be {_TYPE_WORDS[kind]}, got {show_value(value)}", span)
    message = error["msg"].removeprefix("Value error, ")
    # Without a location the rule spans several fields (a model validator): the message names them.
    return DslcError("E205", f"{what}: {field}: {message}" if loc else f"{what}: {message}", span)


def _literal_choices(ctx: dict[str, Any]) -> list[str]:
    return [part.strip().strip("'") for part in str(ctx.get("expected", "")).replace(" or ", ",").split(",")]
