"""An image folder's listing, without Pillow or numpy: its classes (sub-folders) and image files, for `dslc check`
and for training (`dslc.runtime.images`, which then decodes them). docs/architecture.md#data.

Listing is bounded (`MAX_CLASSES` folders, `MAX_FILES` images: a folder pointed at a whole disk fails rather than
walks it), and every file must resolve inside the data folder (a symlink that leads out is E702). Each image's header
is then read (`dslc.compiler.image_headers`): a file that is neither PNG nor JPEG, or is cut before its size, is
E701. Training reads every header; `dslc check` those its scan budget covers (`--data-scan-bytes`, `HEADER_COST`
each), in listing order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dslc.compiler.data_files import data_error as _error
from dslc.compiler.image_headers import Unreadable, read_header
from dslc.spec.errors import Span

SUFFIXES = (".png", ".jpg", ".jpeg")  # compared lower-case
MAX_CLASSES = 10_000
MAX_FILES = 2_000_000  # listing stops here rather than walk a whole disk
# What one header read costs of `dslc check`'s scan budget: the one buffered read most headers take. The default
# 16 MiB checks 4,096 images (a fraction of a second from a warm cache); a file's open, not its bytes, is the cost.
HEADER_COST = 4096


@dataclass(frozen=True)
class Folder:
    """What listing an image folder found: files in class order, then name order."""

    classes: tuple[str, ...]
    files: tuple[Path, ...]
    names: tuple[str, ...]  # each file as the spec names it: '<path>/<class>/<file>', for errors
    labels: tuple[int, ...]  # the class id of each file


def folder_inside(shown: str, base: Path, span: Span, named: str = "the spec's folder") -> Path:
    """The folder `shown` (relative to `base`), resolved: E702 when it or a symlink leads out of `base`, E701 when it
    is missing or not a folder."""
    path = (base / shown).resolve()
    if not path.is_relative_to(base):
        raise _error("E702", f"image folder '{shown}' resolves to '{path}', outside {named} '{base}'", span,
                     hint=f"keep data inside {named} (no symlinks that lead out)")
    if not path.is_dir():
        problem = "is not a folder" if path.exists() else "does not exist"
        raise _error("E701", f"image folder '{shown}' {problem} (looked for '{path}')", span,
                     hint=f"paths are relative to {named}; the folder holds one sub-folder per class")
    return path


def list_folder(shown: str, root: Path, base: Path, span: Span, named: str = "the spec's folder",
                scan_bytes: int | None = None) -> Folder:
    """The class folders and image files under `root` (`shown` as the spec names it); every file must resolve inside
    `base` (`named` in messages) and have a PNG or JPEG header. `scan_bytes`: the headers of only the first
    `scan_bytes // HEADER_COST` files are read (`dslc check`); None: every file's (training)."""
    classes = sorted(_entries(root, lambda entry: entry.is_dir() and not entry.name.startswith("."), MAX_CLASSES,
                              f"image folder '{shown}' has more than {MAX_CLASSES} class folders", span))
    if not classes:
        raise _error("E708", f"image folder '{shown}' has no class sub-folder", span,
                     hint="put each class's images in a sub-folder named after the class")
    files: list[Path] = []
    names: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        found = sorted(_entries(root / name, _is_image, MAX_FILES - len(files),
                                f"image folder '{shown}' has more than {MAX_FILES} images", span))
        if not found:
            raise _error("E708", f"image folder '{shown}': class '{name}' has no image (.png, .jpg or .jpeg)",
                         span, hint="remove the empty class folder or add its images")
        for file in found:
            path = (root / name / file).resolve()
            if not path.is_relative_to(base):
                raise _error("E702", f"image '{shown}/{name}/{file}' resolves to '{path}', outside {named} "
                                     f"'{base}'", span, hint=f"keep data inside {named} (no symlinks that lead out)")
            files.append(path)
            names.append(f"{shown}/{name}/{file}")
        labels += [label] * len(found)
    checked = len(files) if scan_bytes is None else min(len(files), scan_bytes // HEADER_COST)
    for path, name in zip(files[:checked], names[:checked], strict=True):
        try:
            read_header(path)
        except Unreadable as fault:
            raise _error("E701", f"image '{name}' cannot be read as PNG or JPEG: {fault.problem}", span,
                         hint="remove or replace the file (PNG and JPEG files are read by content, whatever their "
                              "suffix)") from None
    return Folder(tuple(classes), tuple(files), tuple(names), tuple(labels))


def _is_image(entry: os.DirEntry[str]) -> bool:
    return entry.name.lower().endswith(SUFFIXES) and not entry.name.startswith(".") and entry.is_file()


def _entries(folder: Path, keep: Callable[[os.DirEntry[str]], bool], limit: int, too_many: str,
             span: Span) -> list[str]:
    """The names in `folder` that `keep` accepts; more than `limit` is an error (E708), found without listing all."""
    names: list[str] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if keep(entry):
                names.append(entry.name)
                if len(names) > limit:
                    raise _error("E708", too_many, span, hint="train on a smaller folder")
    return names
