"""Finding comments in both syntaxes: a `#` inside a string or a block scalar is text."""

from __future__ import annotations

from dslc.spec.comments import Comment, find_comments

YAML = """\
# header
dslc: 1  # trailing
model:
  name: "a # b"   # after a string
  note: |
    not # a comment
  tag: foo#bar
  # own line
  shape: [1, 2]  #tight
"""

DSL = """\
# header
model m(x: [3]) {  # trailing
  dense("a # b")  # after a string
  # own line
  relu# glued
}
"""


def test_yaml_comments_skip_strings_block_scalars_and_words() -> None:
    assert find_comments(YAML) == [
        Comment(1, 1, "# header", True), Comment(2, 10, "# trailing", False),
        Comment(4, 19, "# after a string", False), Comment(8, 3, "# own line", True),
        Comment(9, 18, "#tight", False)]


def test_dsl_comments_skip_strings() -> None:
    assert find_comments(DSL, "dsl") == [
        Comment(1, 1, "# header", True), Comment(2, 20, "# trailing", False),
        Comment(3, 19, "# after a string", False), Comment(4, 3, "# own line", True),
        Comment(5, 7, "# glued", False)]


def test_no_comments() -> None:
    assert find_comments("dslc: 1\n") == []
    assert find_comments('model m(x: [1]) { dense("#") }\n', "dsl") == []
