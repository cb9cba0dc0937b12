"""Reading a spec file: byte budget, then strict UTF-8 decoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dslc.spec.errors import DslcError, Span
from dslc.spec.limits import Limits


@dataclass(frozen=True)
class Source:
    """The text of one spec file and the name used in error locations."""

    name: str
    text: str

    def span_at(self, offset: int) -> Span:
        """The 1-based line and column of a character offset."""
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return Span(self.name, line, col)


def read_source(path: Path, limits: Limits, name: str | None = None) -> Source:
    name = name or str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise DslcError("E001", f"cannot read the file: {exc.strerror or exc}", Span(name, 1, 1)) from None
    if len(data) > limits.max_bytes:
        size = path.stat().st_size
        message = limits.exceeded("the file's size in bytes", size, limits.max_bytes, "--max-bytes")
        raise DslcError("E002", message, Span(name, 1, 1))
    return decode_source(data, name)


def decode_source(data: bytes, name: str) -> Source:
    """Strict UTF-8 (a leading byte-order mark is dropped); NUL bytes are rejected."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        span = Source(name, prefix).span_at(len(prefix))
        raise DslcError("E003", f"invalid UTF-8 byte 0x{data[exc.start]:02x}", span,
                        hint="save the file as UTF-8") from None
    nul = text.find("\0")
    if nul >= 0:
        raise DslcError("E003", "the file contains a NUL byte", Source(name, text).span_at(nul))
    return Source(name, text)
