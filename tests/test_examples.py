"""Every example is a valid spec, round-trips through the YAML printer, and validates against the JSON Schema."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from dslc.spec.limits import DEFAULT_LIMITS
from dslc.spec.load import load, load_text
from dslc.spec.printer import print_yaml
from dslc.spec.schema import spec_schema
from dslc.spec.source import Source
from dslc.spec.tree import Map, Node, Scalar
from dslc.spec.yaml_frontend import parse_yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
YAML_EXAMPLES = sorted(EXAMPLES.glob("*.yaml"))
REQUIRED = {"digits_mlp", "digits_cnn", "resnet_digits", "lstm_classifier", "transformer_encoder", "autoencoder"}


def as_json(node: Node) -> object:
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Map):
        return {entry.key: as_json(entry.value) for entry in node}
    return [as_json(item) for item in node.items]


def test_the_promised_examples_exist_in_both_syntaxes() -> None:
    assert REQUIRED <= {path.stem for path in YAML_EXAMPLES}
    assert {path.stem for path in YAML_EXAMPLES} == {path.stem for path in EXAMPLES.glob("*.dsl")}


@pytest.mark.parametrize("path", YAML_EXAMPLES, ids=lambda p: p.stem)
def test_yaml_print_load_is_the_identity(path: Path) -> None:
    spec = load(path).spec
    text = print_yaml(spec)
    again = load_text(text, "yaml").spec
    assert again == spec
    assert print_yaml(again) == text


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft202012Validator:
    """One validator for the module: `jsonschema.validate` checks the schema itself first, each call (about 1.5 s
    for the spec schema; `test_schema_is_valid_and_rejects_what_dslc_rejects` checks it once)."""
    return jsonschema.Draft202012Validator(spec_schema())


@pytest.mark.parametrize("path", YAML_EXAMPLES, ids=lambda p: p.stem)
def test_example_validates_against_the_json_schema(path: Path, schema_validator: jsonschema.Draft202012Validator
                                                   ) -> None:
    schema_validator.validate(as_json(parse_yaml(Source(str(path), path.read_text()), DEFAULT_LIMITS)))


def test_schema_is_valid_and_rejects_what_dslc_rejects(schema_validator: jsonschema.Draft202012Validator) -> None:
    jsonschema.Draft202012Validator.check_schema(schema_validator.schema)
    validator = schema_validator
    good = {"dslc": 1, "model": {"name": "m", "inputs": {"x": [4]}, "layers": [{"dense": {"units": 2}}, "relu"]}}
    assert validator.is_valid(good)
    for bad_layer in ({"dense": {"unitz": 2}}, {"dense": {"units": "2"}}, "dnse", {"conv2d": {"filters": 1}}):
        bad = {**good, "model": {**good["model"], "layers": [bad_layer]}}
        assert not validator.is_valid(bad), bad_layer
    assert not validator.is_valid({**good, "train": {"loss": "mse", "optimizer": {"adam": {"lr": -1}},
                                                    "batch": 1, "data": "digits"}})
