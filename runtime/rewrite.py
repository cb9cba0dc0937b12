"""Writing canonical spec text back to files without losing anything.

The printers write the IR, which has no comments: each comment of the file is
attached to the item it belongs to and put back beside the printed item, in
either syntax (`dslc.spec.comment_placement`, `dslc.spec.printed`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dslc.spec.comment_placement import place_comments
from dslc.spec.load import LoadedSpec, Syntax
from dslc.spec.printed import render
from dslc.spec.printer import printed_lines


def canonical_text(loaded: LoadedSpec, syntax: Syntax) -> str:
    """The loaded spec in canonical form in `syntax`, every comment of its file in place."""
    lines = printed_lines(loaded.spec, syntax)
    return render(lines, place_comments(loaded), keep_layout=syntax == loaded.syntax)


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
