"""A semantic diff of two specs: the model, its blocks, the train section, and what the changes do.

`diff_specs` compares; `render` writes the result as text, Markdown or JSON (docs/diff.md).
"""

from dslc.compiler.diff.specdiff import SpecDiff, diff_specs

__all__ = ["SpecDiff", "diff_specs"]
