"""Each finding's code linked to its documentation (the diagnostic's `codeDescription`).

Lint warnings link to their rule's section of docs/lint.md; every other code to the section of docs/errors.md that
lists it. The links point at a docs folder given by the editor (`initializationOptions.docsUrl`, e.g. a team's
hosted copy) or else at the docs folder of the source checkout dslc runs from; with neither, codes carry no link.
"""

from __future__ import annotations

import re
from pathlib import Path

import dslc

_HEADING = re.compile(r"^## (E\dxx|Gxxx|Wxxx)\b.*$", re.MULTILINE)


def checkout_docs() -> str | None:
    """The docs folder of the source checkout, as a file URI; None for an installed wheel (it has no docs)."""
    folder = Path(dslc.__file__).resolve().parents[1] / "docs"
    return folder.as_uri() if (folder / "errors.md").is_file() else None


class CodeLinks:
    """code -> URL of its documentation, under a docs base (a folder URL, no trailing slash needed)."""

    def __init__(self, base: str | None) -> None:
        self.base = base.rstrip("/") if base else None
        # The anchors come from the checkout's errors.md; a hosted copy of the same docs has the same ones.
        self._sections = _sections(Path(dslc.__file__).resolve().parents[1] / "docs" / "errors.md")

    def href(self, code: str) -> str | None:
        if self.base is None:
            return None
        if code.startswith("W"):
            return f"{self.base}/lint.md#{code.lower()}"
        group = f"{code[:2]}xx" if code.startswith("E") else "Gxxx"
        anchor = self._sections.get(group)
        return f"{self.base}/errors.md" + (f"#{anchor}" if anchor else "")


def _sections(errors_md: Path) -> dict[str, str]:
    """Each code group's heading in errors.md -> its anchor, as GitHub and most Markdown viewers make it."""
    try:
        text = errors_md.read_text(encoding="utf-8")
    except OSError:
        return {}
    return {match.group(1): _anchor(match.group(0)[3:]) for match in _HEADING.finditer(text)}


def _anchor(heading: str) -> str:
    """GitHub's slug: lower case, punctuation other than '-' and '_' dropped, spaces as '-'."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
