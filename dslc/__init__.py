"""dslc: a declarative model-spec compiler for deep learning.

The card's folders `spec/`, `compiler/` and `runtime/` are installed as
`dslc.spec`, `dslc.compiler` and `dslc.runtime` (see pyproject.toml).
"""

__version__ = "0.1.0"
