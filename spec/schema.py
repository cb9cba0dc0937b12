"""The JSON Schema of the YAML format, assembled from the pydantic models of the registry and vocabularies.

It serves editors (completion, inline checks). It is a little looser than dslc
itself: graph rules, block arguments and `$param` scoping are checked by
`dslc check`, not by the schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from dslc.spec.ir import DTYPES, SPEC_VERSION, Train
from dslc.spec.layers import REGISTRY
from dslc.spec.lower import LAYER_ATTRIBUTES, NESTED_CHOICES, TRAIN_CHOICES, TRAIN_LISTS, TRAIN_SETTINGS
from dslc.spec.vocab import Vocabulary

Schema = dict[str, Any]
NAME: Schema = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"}
REF: Schema = {"type": "string", "pattern": "^\\$[A-Za-z_][A-Za-z0-9_]*$", "description": "a block parameter"}
NAMES: Schema = {"anyOf": [NAME, {"type": "array", "items": NAME}]}


def spec_schema() -> Schema:
    defs: Schema = {}
    defs["layers"] = {"type": "array", "items": {"anyOf": _layer_items(defs) + [_block_call_item()]}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dslc spec",
        "type": "object",
        "required": ["dslc", "model"],
        "additionalProperties": False,
        "properties": {
            "dslc": {"const": SPEC_VERSION},
            "blocks": {"type": "object", "propertyNames": NAME, "additionalProperties": _block()},
            "model": _model(),
            "train": _train(defs),
        },
        "$defs": defs,
    }


def _model_schema(model: type[BaseModel], defs: Schema, drop: tuple[str, ...] = ()) -> Schema:
    schema = model.model_json_schema(ref_template="#/$defs/{model}")
    defs.update(schema.pop("$defs", {}))
    for name in drop:
        schema.get("properties", {}).pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    schema["additionalProperties"] = False
    return schema


def _layer_items(defs: Schema) -> list[Schema]:
    bare = sorted(name for name, kind in REGISTRY.items()
                  if not any(field.is_required() for field in kind.params.model_fields.values()))
    items: list[Schema] = [{"enum": bare}]
    attributes = {"name": NAME, "from": NAMES, "trainable": {"type": "boolean"}}
    for name, kind in sorted(REGISTRY.items()):
        params = _model_schema(kind.params, defs)
        for key, prop in list(params.get("properties", {}).items()):
            params["properties"][key] = {"anyOf": [prop, REF]}
        forms: list[Schema] = [params, {"type": "null"}]
        if kind.positional:
            forms.append(params["properties"][kind.positional[0]])
        items.append({"type": "object", "required": [name], "additionalProperties": False,
                      "description": kind.summary(),
                      "properties": {name: {"anyOf": forms}, **attributes}})
    assert set(attributes) == set(LAYER_ATTRIBUTES)
    return items


def _block_call_item() -> Schema:
    return {"type": "object", "minProperties": 1, "description": "a block call",
            "propertyNames": {"not": {"enum": sorted(REGISTRY)}},
            "properties": {"name": NAME, "from": NAMES, "trainable": {"type": "boolean"},
                           "repeat": {"type": "integer", "minimum": 1}},
            "additionalProperties": {"type": ["object", "null"]}}


def _block() -> Schema:
    param = {"anyOf": [NAME, {"type": "object", "minProperties": 1, "maxProperties": 1}]}
    return {"type": "object", "required": ["layers"], "additionalProperties": False,
            "properties": {"params": {"type": "array", "items": param}, "layers": {"$ref": "#/$defs/layers"}}}


def _model() -> Schema:
    shape = {"type": "array", "items": {"type": ["integer", "null"], "minimum": 1}}
    typed = {"type": "object", "required": ["shape"], "additionalProperties": False,
             "properties": {"shape": shape, "dtype": {"enum": list(DTYPES)}}}
    return {"type": "object", "required": ["name", "inputs", "layers"], "additionalProperties": False,
            "properties": {"name": NAME,
                           "inputs": {"type": "object", "minProperties": 1, "propertyNames": NAME,
                                      "additionalProperties": {"anyOf": [shape, typed]}},
                           "layers": {"$ref": "#/$defs/layers"},
                           "outputs": {"type": "array", "items": NAME}}}


def _choice(vocabulary: Vocabulary, defs: Schema) -> Schema:
    """`name` (when it needs no parameters) or `{name: {params}}`."""
    bare = [name for name, model in vocabulary.choices.items()
            if not any(f.is_required() for key, f in model.model_fields.items() if key != "kind")]
    forms: list[Schema] = [{"enum": bare}] if bare else []
    for name, model in vocabulary.choices.items():
        params = _model_schema(model, defs, drop=("kind",))
        for key, nested in NESTED_CHOICES.items():
            if key in params.get("properties", {}):
                number = [{"type": "number", "exclusiveMinimum": 0}] if key == "lr" else []  # a constant rate
                params["properties"][key] = {"anyOf": [*number, _choice(nested, defs)]}
        forms.append({"type": "object", "required": [name], "additionalProperties": False,
                      "properties": {name: {"anyOf": [params, {"type": "null"}]}}})
    return {"anyOf": forms}


def _train(defs: Schema) -> Schema:
    plain = _model_schema(Train, defs)
    properties = {key: plain["properties"][key] for key in Train.model_fields
                  if key not in TRAIN_CHOICES and key not in TRAIN_SETTINGS and key not in TRAIN_LISTS}
    properties.update({key: _choice(vocabulary, defs) for key, vocabulary in TRAIN_CHOICES.items()})
    properties.update({key: {"type": "array", "items": _choice(vocabulary, defs)}
                       for key, vocabulary in TRAIN_LISTS.items()})
    properties.update({key: _model_schema(model, defs) for key, model in TRAIN_SETTINGS.items()})
    return {"type": "object", "required": ["loss", "optimizer", "batch", "data"], "additionalProperties": False,
            "properties": properties}
