"""`# dslc: ignore[W101]` and `# dslc: ignore-file[W104]` comments, in either syntax.

`ignore[...]` as a trailing comment silences the listed rules on its own line; on a line of its own, on the next
line. `ignore-file[...]` (on a line of its own, best near the top) silences them in the whole file. A listed code
may be a prefix (`W1`), as in `--select`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dslc.spec.comments import find_comments
from dslc.spec.errors import DslcError

_DIRECTIVE = re.compile(r"#\s*dslc:\s*(ignore|ignore-file)\[([A-Za-z0-9_,\s]*)\]")


@dataclass(frozen=True)
class Suppressions:
    whole_file: tuple[str, ...] = ()
    by_line: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def silences(self, finding: DslcError) -> bool:
        line = finding.span.line if finding.span else 0
        return any(finding.code.startswith(code) for code in (*self.whole_file, *self.by_line.get(line, ())))


def suppressions(text: str, syntax: str) -> Suppressions:
    whole_file: list[str] = []
    by_line: dict[int, tuple[str, ...]] = {}
    for comment in find_comments(text, syntax):
        match = _DIRECTIVE.match(comment.text)
        if match is None:
            continue
        codes = tuple(code.strip().upper() for code in match.group(2).split(",") if code.strip())
        if match.group(1) == "ignore-file":
            whole_file.extend(codes)
        else:
            line = comment.line + 1 if comment.own_line else comment.line
            by_line[line] = by_line.get(line, ()) + codes
    return Suppressions(tuple(whole_file), by_line)
