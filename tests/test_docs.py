"""The project's design lives in docs/, and what points there stays valid.

- No file of the repository refers to a design document outside it.
- Every `docs/NAME.md` mentioned in the repository's .py, .md, .yaml and .dsl files exists, and an `#anchor` after
  it names a heading of that file (GitHub's slugs); the same for links between the documents in docs/.
- Every error code of the catalogue is documented in docs/errors.md, and docs/errors.md lists no other code.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from dslc.spec.codes import CODES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# How references to a design document outside the repository were written.
OUTSIDE = (b"DESIGN \xc2\xa7", b"DESIGN.md", b"../shared")
MENTIONING = (".py", ".md", ".yaml", ".yml", ".dsl")
# `docs/NAME.md#anchor`, anywhere in a line (a Markdown link target, a comment, a docstring).
DOC_PATH = re.compile(r"(?<![\w.-])docs/([\w.-]+\.md)(?:#([\w-]+))?")
# Links between the documents: `](NAME.md#anchor)` or `](#anchor)` inside docs/.
DOC_LINK = re.compile(r"\]\(([\w.-]+\.md)?(?:#([\w-]+))?\)")
CODE = re.compile(r"\b[EGW]\d{3}\b")


def repository_files() -> list[str]:
    """The files git tracks, plus new ones it does not ignore (a file not yet added is checked too)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    names = sorted({name for name in listed.decode("utf-8", errors="surrogateescape").split("\0") if name})
    return [name for name in names if (ROOT / name).is_file()]  # a tracked file deleted in the work tree is gone


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@cache
def anchors(name: str) -> frozenset[str]:
    """The anchors of docs/NAME's headings (fenced code ignored; repeated headings get -1, -2, ... as on GitHub)."""
    found: set[str] = set()
    fenced = False
    for line in (DOCS / name).read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not heading:
            continue
        base = slug(heading.group(1))
        anchor, n = base, 0
        while anchor in found:
            n += 1
            anchor = f"{base}-{n}"
        found.add(anchor)
    return frozenset(found)


def test_slugs_follow_github() -> None:
    assert slug("D2 affine collapse") == "d2-affine-collapse"
    assert slug("E0xx: reading, limits and syntax") == "e0xx-reading-limits-and-syntax"
    assert slug("`nnx.jit` dispatch cost") == "nnxjit-dispatch-cost"
    assert slug("snake_case and-dashes") == "snake_case-and-dashes"


def test_no_file_refers_to_a_design_document_outside_the_repository() -> None:
    offenders = []
    for name in repository_files():
        if name == THIS or name.startswith("docs/"):
            continue
        data = (ROOT / name).read_bytes()
        offenders += [f"{name}: {marker.decode()}" for marker in OUTSIDE if marker in data]
    assert not offenders, "point these at docs/ instead:\n" + "\n".join(offenders)


def test_every_docs_reference_exists_with_its_anchor() -> None:
    broken = []
    for name in repository_files():
        if name == THIS or not name.endswith(MENTIONING):
            continue
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        references = [(m.group(1), m.group(2)) for m in DOC_PATH.finditer(text)]
        if name.startswith("docs/") and "/" not in name.removeprefix("docs/"):
            here = name.removeprefix("docs/")
            references += [(m.group(1) or here, m.group(2)) for m in DOC_LINK.finditer(text)]
        for document, anchor in references:
            if not (DOCS / document).is_file():
                broken.append(f"{name}: docs/{document} does not exist")
            elif anchor and anchor not in anchors(document):
                broken.append(f"{name}: docs/{document}#{anchor} names no heading of docs/{document}")
    assert not broken, "\n".join(sorted(set(broken)))


def test_the_docs_are_referenced() -> None:
    """Each document is listed in docs/README.md, and the project points to docs/ at all."""
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for document in sorted(path.name for path in DOCS.glob("*.md") if path.name != "README.md"):
        assert f"({document})" in index, f"docs/README.md does not list {document}"
    assert "docs/README.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_error_code_is_documented() -> None:
    documented = set(CODE.findall((DOCS / "errors.md").read_text(encoding="utf-8")))
    assert not set(CODES) - documented, f"codes missing from docs/errors.md: {sorted(set(CODES) - documented)}"
    assert not documented - set(CODES), f"docs/errors.md lists codes not in CODES: {sorted(documented - set(CODES))}"
