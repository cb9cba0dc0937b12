"""Writing canonical spec text back to files without losing anything.

The printers write the IR, which has no comments; the file's leading comment
block is carried over, and any other comment makes `fmt`/`convert` stop rather
than drop it silently (unless the user says `--drop-comments`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def header_comments(text: str) -> list[str]:
    """The comment lines (and blank lines between them) at the top of a file."""
    header: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("#") or (header and not line.strip()):
            header.append(line.rstrip())
        else:
            break
    while header and not header[-1].strip():
        header.pop()
    return header


def body_comment_lines(text: str) -> list[int]:
    """1-based line numbers of comments after the header (both syntaxes use `#`)."""
    skip = len(header_comments(text))
    return [number for number, line in enumerate(text.splitlines(), start=1)
            if number > skip and _has_comment(line)]


def _has_comment(line: str) -> bool:
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == "\\" and quote == '"':
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            # a quote starts a string only at a value position, not inside a word like don't
            if index == 0 or not line[index - 1].isalnum():
                quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return True
    return False


def with_header(original: str, canonical: str) -> str:
    header = header_comments(original)
    return ("\n".join(header) + "\n" + canonical) if header else canonical


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if isinstance(content, bytes):
            with os.fdopen(handle, "wb") as binary:
                binary.write(content)
        else:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(content)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:  # mkstemp creates 0600; a new file gets the usual mode under the user's umask
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
