"""An image file's header, read without Pillow: its format (PNG or JPEG, by content, whatever the file's suffix),
width, height, bits per sample and channels (docs/architecture.md#data).

`dslc check` (base install: no Pillow, no numpy) and training read the listed images' headers this way
(`dslc.compiler.image_folders`), so that a file that is no image, or is cut before its size, fails before any
training with the same message either way. What a header cannot tell (pixels cut short, corrupt compressed data)
is left to Pillow when training decodes.

The checks are those Pillow's `Image.open` makes (`PIL.PngImagePlugin`, `PIL.JpegImagePlugin`), so a JPEG named
`.png` is an image, as training decodes files by content. Where this reader is stricter, it is bounded or follows
the standard: a PNG's first chunk is a 13-byte IHDR; a JPEG reaches its frame header (SOFn) within
`MAX_JPEG_SEGMENTS` segments and `MAX_SKIPPED` stray bytes between them. Reads are few: PNG's signature and IHDR
chunk (33 bytes); JPEG's segment headers, their bodies (EXIF, ICC profiles, XMP) skipped by seeking.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
READ_BUFFER = 4096  # one read holds a PNG header and the segments of most JPEG files before their frame header
MAX_JPEG_SEGMENTS = 256  # up to 16 MiB of metadata before the frame header (64 KiB a segment at most)
MAX_SKIPPED = 4096  # bytes between JPEG segments that are neither a marker nor its length
SHOWN_BYTES = 12  # of a file that is neither format, what it starts with

# (bit depth, colour type) pairs that PNG (and Pillow) know -> samples per pixel
_PNG_CHANNELS = {(depth, 0): 1 for depth in (1, 2, 4, 8, 16)} | {(depth, 3): 1 for depth in (1, 2, 4, 8)} | {
    (depth, colour): channels for depth in (8, 16) for colour, channels in ((2, 3), (4, 2), (6, 4))}
# Markers that start a frame (Pillow's SOF handler: SOF0-SOF15 but DHT, JPG, DAC; and DHP)
_JPEG_FRAMES = frozenset({*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC} | {0xDE})
# Markers with no length after them (Pillow reads on): JPG, RST0-7, SOI, EOI, JPG0-13
_JPEG_BARE = frozenset({0xC8, *range(0xD0, 0xDA), *range(0xF0, 0xFE)})
_JPEG_SCAN = 0xDA
_JPEG_CHANNELS = (1, 3, 4)  # grayscale, YCbCr or RGB, CMYK: the layer counts Pillow takes


@dataclass(frozen=True)
class Header:
    format: str  # "PNG" or "JPEG", as Pillow names them
    width: int
    height: int
    bits: int  # per sample
    channels: int  # samples per pixel (a palette image: 1)


class Unreadable(Exception):
    """The file is no PNG or JPEG image Pillow could open; `problem` says what was found, as a phrase."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def read_header(path: Path) -> Header:
    """The header of the image at `path`; `Unreadable` when the file is neither format, is cut before the header
    ends, or gives a size of zero."""
    try:
        with path.open("rb", buffering=READ_BUFFER) as handle:
            start = handle.read(len(PNG_SIGNATURE))
            if start == PNG_SIGNATURE:
                return _png(handle)
            if start.startswith(JPEG_SIGNATURE):
                return _jpeg(handle)
            start += handle.read(SHOWN_BYTES - len(start))
    except OSError as exc:
        raise Unreadable(f"it cannot be read ({exc.strerror or exc})") from None
    if not start:
        raise Unreadable("it is empty")
    if PNG_SIGNATURE.startswith(start) or JPEG_SIGNATURE.startswith(start):
        raise Unreadable(f"it ends after {len(start)} bytes, inside its signature")
    raise Unreadable(f"it starts with {start[:SHOWN_BYTES]!r}, neither PNG's signature nor JPEG's")


def _png(handle: BinaryIO) -> Header:
    """The IHDR chunk, which must come first: length (13), type, width, height, bit depth, colour type,
    compression, filter and interlace methods, CRC."""
    chunk = _exactly(handle, 4 + 4 + 13 + 4, "PNG header (IHDR chunk)")
    length, kind, body, crc = _number(chunk[:4]), chunk[4:8], chunk[8:21], _number(chunk[21:])
    if kind != b"IHDR" or length != len(body):
        raise Unreadable(f"its first PNG chunk is {kind!r} of {length:,} bytes, not the IHDR header of 13")
    if zlib.crc32(kind + body) != crc:
        raise Unreadable("its PNG header (IHDR chunk) fails its checksum")
    width, height, depth, colour = _number(body[:4]), _number(body[4:8]), body[8], body[9]
    if (depth, colour) not in _PNG_CHANNELS:
        raise Unreadable(f"its PNG header gives bit depth {depth} with colour type {colour}, which PNG does not "
                         "define")
    if body[11]:
        raise Unreadable(f"its PNG header gives filter method {body[11]}, which PNG does not define")
    return _sized(Header("PNG", width, height, depth, _PNG_CHANNELS[depth, colour]))


def _jpeg(handle: BinaryIO) -> Header:
    """The segments after the start-of-image marker, up to the frame header (SOFn): each segment is 0xFF, a marker
    byte, then (but for bare markers) a 2-byte length that counts itself and the segment's body."""
    size = os.fstat(handle.fileno()).st_size
    handle.seek(len(JPEG_SIGNATURE) - 1)  # at the 0xFF that starts the first segment after SOI
    skipped = 0  # bytes between segments (Pillow skips them), across the header
    for _ in range(MAX_JPEG_SEGMENTS):
        marker, skipped = _next_marker(handle, skipped)
        if marker in _JPEG_BARE:
            continue
        if marker == _JPEG_SCAN:
            raise Unreadable("its JPEG image data (SOS) starts before any frame header (SOFn) gives its size")
        segment = f"JPEG segment 0xFF{marker:02X}"
        length = _number(_exactly(handle, 2, segment))
        if length < 2:
            raise Unreadable(f"its {segment} declares a length of {length}, less than 2")
        if handle.tell() + length - 2 > size:
            raise Unreadable(f"it ends after {size:,} bytes, inside its {segment} of {length:,} bytes")
        if marker in _JPEG_FRAMES:
            return _frame(handle, marker, length)
        handle.seek(length - 2, os.SEEK_CUR)  # the body (EXIF, an ICC profile, tables...), not read
    raise Unreadable(f"its first {MAX_JPEG_SEGMENTS} JPEG segments hold no frame header (SOFn)")


def _next_marker(handle: BinaryIO, skipped: int) -> tuple[int, int]:
    """The next marker (the byte after 0xFF that is neither 0x00 nor 0xFF), and the count of bytes skipped on the
    way, so far in the header: junk, fill bytes and escaped 0xFF00, as Pillow skips them (at most `MAX_SKIPPED`)."""
    what = "JPEG header before its frame header (SOFn)"
    previous = _exactly(handle, 1, what)[0]
    while True:
        byte = _exactly(handle, 1, what)[0]
        if previous == 0xFF and byte not in (0x00, 0xFF):
            break
        skipped += 1
        if skipped > MAX_SKIPPED:
            raise Unreadable(f"it holds more than {MAX_SKIPPED:,} bytes between its JPEG segments")
        previous = byte
    if byte < 0xC0:  # 0xFF01-0xFFBF are reserved: Pillow finds no marker there
        raise Unreadable(f"it holds 0xFF{byte:02X} where a JPEG marker should be")
    return byte, skipped


def _frame(handle: BinaryIO, marker: int, length: int) -> Header:
    """The frame header: sample precision, height, width, component count (then each component's 3 bytes)."""
    if length < 8:
        raise Unreadable(f"its JPEG frame header (0xFF{marker:02X}) declares {length} bytes, too few for a size")
    body = _exactly(handle, 6, f"JPEG frame header (0xFF{marker:02X})")
    bits, height, width, channels = body[0], _number(body[1:3]), _number(body[3:5]), body[5]
    if bits != 8:
        raise Unreadable(f"its JPEG frame header gives {bits}-bit samples; only 8-bit JPEG is read")
    if channels not in _JPEG_CHANNELS:
        raise Unreadable(f"its JPEG frame header gives {channels} components; only 1, 3 or 4 are read")
    return _sized(Header("JPEG", width, height, bits, channels))


def _sized(header: Header) -> Header:
    if not header.width or not header.height:
        raise Unreadable(f"its {header.format} header gives a size of {header.width}x{header.height} (width x "
                         "height)")
    return header


def _exactly(handle: BinaryIO, count: int, what: str) -> bytes:
    """`count` bytes from `handle`; `Unreadable` naming `what` when the file ends first."""
    data = handle.read(count)
    if len(data) < count:
        size = handle.seek(0, 2)
        raise Unreadable(f"it ends after {size:,} bytes, inside its {what}")
    return data


def _number(data: bytes) -> int:
    return int.from_bytes(data, "big")  # both formats store numbers big-endian
