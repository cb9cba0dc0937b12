"""The formatter keeps every comment, in both syntaxes and across `convert`; the project's own specs are canonical."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dslc.runtime.cli import main
from dslc.runtime.rewrite import canonical_text
from dslc.spec.comments import find_comments
from dslc.spec.load import LoadedSpec, Syntax, load, load_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path for folder in (ROOT / "examples", ROOT / "examples" / "zoo")
                  for pattern in ("*.yaml", "*.dsl") for path in folder.glob(pattern))
SYNTAXES: dict[str, Syntax] = {".yaml": "yaml", ".dsl": "dsl"}
# A few examples of each syntax with blocks, multi-line calls, several sections and comments of their own.
SALTED = ["resnet_digits.dsl", "resnet_digits.yaml", "two_branch.yaml", "transformer_encoder.dsl",
          "zoo/moe_tiny.yaml", "zoo/unet_tiny.dsl", "zoo/gpt2_small.dsl", "autoencoder.yaml"]


def readme_specs() -> list[tuple[str, Syntax]]:
    """The README's spec code blocks: YAML blocks that hold a spec, and untagged blocks in the DSL."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", readme, flags=re.MULTILINE | re.DOTALL)
    specs: list[tuple[str, Syntax]] = [(body, "yaml") for tag, body in blocks if tag == "yaml" and "dslc:" in body]
    specs += [(body, "dsl") for tag, body in blocks if not tag and body.startswith("dslc 1\n")]
    return specs


def reloaded(text: str, syntax: Syntax) -> LoadedSpec:
    return load_text(text, syntax, f"spec.{syntax}")


def comment_texts(text: str, syntax: Syntax) -> str:
    return "\n".join(comment.text for comment in find_comments(text, syntax))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: str(path.relative_to(ROOT / "examples")))
def test_every_example_is_canonical(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--check", str(path)]) == 0, capsys.readouterr().out


def test_the_readme_specs_are_canonical() -> None:
    specs = readme_specs()
    assert {syntax for _, syntax in specs} == {"yaml", "dsl"}
    for text, syntax in specs:
        assert canonical_text(reloaded(text, syntax), syntax) == text


def salted(text: str) -> tuple[str, list[str]]:
    """`text` with a comment before every line (at that line's indentation) and at the end of every line that
    has no comment yet; and the comments' unique texts."""
    markers: list[str] = []
    out: list[str] = []
    lines = text.splitlines()
    syntax: Syntax = "dsl" if lines and any(line.startswith("dslc 1") for line in lines) else "yaml"
    commented = {comment.line for comment in find_comments(text, syntax)}
    for number, line in enumerate(lines, start=1):
        indent = len(line) - len(line.lstrip()) if line.strip() else 0
        markers.append(f"# own {number};")
        out.append(" " * indent + markers[-1])
        if line.strip() and number not in commented:
            markers.append(f"# trailing {number};")
            line = f"{line}  {markers[-1]}"
        out.append(line)
    markers.append("# last;")
    out.append(markers[-1])
    return "\n".join(out) + "\n", markers


def assert_kept(text: str, syntax: Syntax, markers: list[str]) -> None:
    kept = comment_texts(text, syntax)
    missing = [marker for marker in markers if marker not in kept]
    assert not missing, f"lost {missing} in:\n{text}"


@pytest.mark.parametrize("name", SALTED)
def test_a_comment_everywhere_survives_fmt_and_convert(name: str) -> None:
    path = ROOT / "examples" / name
    syntax, other = SYNTAXES[path.suffix], "dsl" if path.suffix == ".yaml" else "yaml"
    text, markers = salted(path.read_text(encoding="utf-8"))
    loaded = reloaded(text, syntax)
    assert loaded.spec == load(path).spec
    assert len(find_comments(text, syntax)) >= len(markers)

    formatted = canonical_text(loaded, syntax)
    assert_kept(formatted, syntax, markers)
    assert canonical_text(reloaded(formatted, syntax), syntax) == formatted  # idempotent

    converted = canonical_text(loaded, other)
    assert_kept(converted, other, markers)
    assert canonical_text(reloaded(converted, other), other) == converted
    back = canonical_text(reloaded(converted, other), syntax)
    assert_kept(back, syntax, markers)
    assert reloaded(back, syntax).spec == loaded.spec


@pytest.mark.parametrize("name", ["resnet_digits.dsl", "resnet_digits.yaml"])
def test_one_comment_at_a_time_lands_in_one_stable_place(name: str) -> None:
    """Each single comment keeps its text, and a second fmt moves nothing (conversions: the test above)."""
    original = (ROOT / "examples" / name).read_text(encoding="utf-8").splitlines()
    syntax: Syntax = SYNTAXES[Path(name).suffix]
    for number in range(len(original) + 1):
        for trailing in (False, True):
            if trailing and (number == len(original) or not original[number].strip()
                             or "#" in original[number]):
                continue
            lines = list(original)
            if trailing:
                lines[number] += "  # here;"
            else:
                lines.insert(number, "# here;")
            text = "\n".join(lines) + "\n"
            formatted = canonical_text(reloaded(text, syntax), syntax)
            assert "# here;" in comment_texts(formatted, syntax), text
            assert canonical_text(reloaded(formatted, syntax), syntax) == formatted, text


def test_comments_keep_their_item_in_either_syntax() -> None:
    yaml_text = """\
# Header.

dslc: 1
model:
  name: m   # the name
  inputs: {x: [4]}
  layers:
    # Two layers.
    - dense: {units: 8}
      name: hidden  # hidden
    - relu
    # the end of the layers
train:
  loss: mse
  optimizer: {adam: {lr: 1e-3}}
  batch: 8
  epochs: 1
  data: {npz: {path: d.npz}}
  # the end of train
# the end of the file
"""
    loaded = reloaded(yaml_text, "yaml")
    assert canonical_text(loaded, "yaml") == yaml_text.replace("1e-3", "0.001")
    assert canonical_text(loaded, "dsl") == """\
# Header.

dslc 1

model m(x: [4]) {  # the name
  # Two layers.
  hidden: dense(8)  # hidden
  relu
  # the end of the layers
}

train {
  loss = mse
  optimizer = adam(0.001)
  batch = 8
  epochs = 1
  data = npz("d.npz")
  # the end of train
}
# the end of the file
"""


def test_a_comment_after_a_closing_brace_stays_there() -> None:
    text = "dslc 1\n\nmodel m(x: [4]) {\n  relu\n}  # done\n"
    assert canonical_text(reloaded(text, "dsl"), "dsl") == text
    assert canonical_text(reloaded(text, "dsl"), "yaml").endswith("    - relu  # done\n")


def test_aligned_trailing_comments_stay_aligned() -> None:
    text = "dslc: 1\nmodel:\n  name: m       # a\n  inputs: {x: [4]} # b\n  layers:\n    - relu\n"
    assert canonical_text(reloaded(text, "yaml"), "yaml") == (
        "dslc: 1\nmodel:\n  name: m       # a\n  inputs: {x: [4]}  # b\n  layers:\n    - relu\n")


def test_a_comment_inside_an_empty_block_stays_inside() -> None:
    text = "dslc 1\n\nblock nothing {\n  # to do\n}\n\nmodel m(x: [4]) {\n  nothing\n}\n"
    assert canonical_text(reloaded(text, "dsl"), "dsl") == text
    yaml_text = canonical_text(reloaded(text, "dsl"), "yaml")
    assert "    layers: []\n    # to do\nmodel:" in yaml_text
    assert canonical_text(reloaded(yaml_text, "yaml"), "dsl") == text


def test_long_lines_wrap_inside_their_brackets_and_keep_their_comments() -> None:
    arguments = ", ".join(f"{name}={value}" for name, value in
                          [("kv_heads", 3), ("epsilon", "1e-5"), ("rope", 100000), ("use_bias", "false"),
                           ("gated", "true"), ("activation", "silu"), ("norm", "rmsnorm")])
    text = (f"dslc 1\n\nmodel m(ids: int32[16]) {{\n  embedding(64, 576)\n"
            f"  decoder_block(9, 1536, {arguments})  # c\n}}\n")
    formatted = canonical_text(reloaded(text, "dsl"), "dsl")
    assert formatted.splitlines()[4:6] == [
        "  decoder_block(9, 1536, kv_heads=3, epsilon=1e-5, rope=100000, use_bias=false, gated=true, activation=silu,",
        "                norm=rmsnorm)  # c"]
    assert canonical_text(reloaded(formatted, "dsl"), "dsl") == formatted
    yaml_text = canonical_text(reloaded(formatted, "dsl"), "yaml")
    assert max(map(len, yaml_text.splitlines())) <= 120 and "  # c\n" in yaml_text
    assert reloaded(yaml_text, "yaml").spec == reloaded(text, "dsl").spec
