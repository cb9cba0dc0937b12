"""An image's header read without Pillow (compiler/image_headers.py): the size of what Pillow writes, and a one-line
reason, where Pillow fails to open the file too, for files that are no image or are cut before their size."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest
from PIL import Image

from dslc.compiler import image_headers
from dslc.compiler.image_headers import Header, Unreadable, read_header


def encoded(mode: str, size: tuple[int, int], format: str, **options: object) -> bytes:
    """A small image of `mode` and `size` (width, height) as Pillow writes it."""
    buffer = io.BytesIO()
    Image.new(mode, size, 1).save(buffer, format, **options)
    return buffer.getvalue()


def exif(size: int) -> Image.Exif:
    """An EXIF block of about `size` bytes: an image description."""
    block = Image.Exif()
    block[0x010E] = "x" * size
    return block


def png_with(width: int, height: int, depth: int = 8, colour: int = 0, crc: int | None = None) -> bytes:
    """A PNG signature and IHDR chunk (with its checksum, or `crc`), then nothing: enough for a header."""
    body = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([depth, colour, 0, 0, 0])
    checksum = zlib.crc32(b"IHDR" + body) if crc is None else crc
    return image_headers.PNG_SIGNATURE + (13).to_bytes(4, "big") + b"IHDR" + body + checksum.to_bytes(4, "big")


def frame_at(jpeg: bytes) -> int:
    """Where the baseline or progressive frame header (0xFFC0 or 0xFFC2) of a JPEG written by Pillow starts."""
    return min(at for at in (jpeg.find(b"\xff\xc0"), jpeg.find(b"\xff\xc2")) if at >= 0)


def patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new):]


def read(tmp_path: Path, data: bytes, name: str = "image.png") -> Header:
    path = tmp_path / name
    path.write_bytes(data)
    return read_header(path)


@pytest.mark.parametrize(("mode", "format", "options", "header"), [
    ("L", "PNG", {}, Header("PNG", 5, 3, 8, 1)),
    ("RGB", "PNG", {}, Header("PNG", 5, 3, 8, 3)),
    ("RGBA", "PNG", {}, Header("PNG", 5, 3, 8, 4)),
    ("P", "PNG", {}, Header("PNG", 5, 3, 1, 1)),  # Pillow packs a palette of one colour in 1 bit
    ("1", "PNG", {}, Header("PNG", 5, 3, 1, 1)),
    ("I;16", "PNG", {}, Header("PNG", 5, 3, 16, 1)),
    ("RGB", "PNG", {"interlace": 1}, Header("PNG", 5, 3, 8, 3)),
    ("L", "JPEG", {}, Header("JPEG", 5, 3, 8, 1)),
    ("RGB", "JPEG", {}, Header("JPEG", 5, 3, 8, 3)),
    ("CMYK", "JPEG", {}, Header("JPEG", 5, 3, 8, 4)),
    ("RGB", "JPEG", {"progressive": True}, Header("JPEG", 5, 3, 8, 3)),
    ("RGB", "JPEG", {"exif": exif(20_000)}, Header("JPEG", 5, 3, 8, 3)),  # past the buffer
    ("RGB", "JPEG", {"icc_profile": bytes(200_000)}, Header("JPEG", 5, 3, 8, 3)),  # 4 segments of 64 KiB
], ids=["png grey", "png rgb", "png rgba", "png palette", "png 1-bit", "png 16-bit", "png interlaced", "jpeg grey",
        "jpeg rgb", "jpeg cmyk", "jpeg progressive", "jpeg exif", "jpeg icc"])
def test_the_header_gives_what_pillow_wrote(tmp_path: Path, mode: str, format: str, options: dict[str, object],
                                            header: Header) -> None:
    data = encoded(mode, (5, 3), format, **options)
    assert read(tmp_path, data) == header
    assert Image.open(io.BytesIO(data)).size == (header.width, header.height)


def test_a_jpeg_named_png_is_an_image_as_training_decodes_it(tmp_path: Path) -> None:
    assert read(tmp_path, encoded("RGB", (4, 2), "JPEG"), "photo.png").format == "JPEG"


def test_stray_bytes_between_jpeg_segments_are_skipped_as_pillow_skips_them(tmp_path: Path) -> None:
    jpeg = encoded("RGB", (4, 2), "JPEG")
    at = frame_at(jpeg)
    data = jpeg[:at] + b"\x00junk\xff\xff" + jpeg[at:]
    assert read(tmp_path, data) == Header("JPEG", 4, 2, 8, 3)
    assert Image.open(io.BytesIO(data)).size == (4, 2)


JPEG = encoded("L", (4, 2), "JPEG")
EXIF_JPEG = encoded("RGB", (4, 2), "JPEG", exif=exif(5_000))
PNG = encoded("L", (4, 2), "PNG")


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "it is empty"),
    (b"hello world, this is text\n", "it starts with b'hello world,', neither PNG's signature nor JPEG's"),
    (b"GIF89a" + bytes(40), "it starts with b'GIF89a\\x00\\x00\\x00\\x00\\x00\\x00', neither PNG's signature nor "
                            "JPEG's"),
    (PNG[:5], "it ends after 5 bytes, inside its signature"),
    (JPEG[:2], "it ends after 2 bytes, inside its signature"),
    (PNG[:20], "it ends after 20 bytes, inside its PNG header (IHDR chunk)"),
    (png_with(0, 7), "its PNG header gives a size of 0x7 (width x height)"),
    (png_with(7, 0), "its PNG header gives a size of 7x0 (width x height)"),
    (png_with(7, 7, crc=0), "its PNG header (IHDR chunk) fails its checksum"),
    (png_with(7, 7, depth=3), "its PNG header gives bit depth 3 with colour type 0, which PNG does not define"),
    (image_headers.PNG_SIGNATURE + bytes(4) + b"IDAT" + bytes(17), "its first PNG chunk is b'IDAT' of 0 bytes, not "
                                                                   "the IHDR header of 13"),
    (JPEG[:frame_at(JPEG)], f"it ends after {frame_at(JPEG):,} bytes, inside its JPEG header before its frame header "
                            "(SOFn)"),
    (JPEG[:frame_at(JPEG) + 6], f"it ends after {frame_at(JPEG) + 6:,} bytes, inside its JPEG segment 0xFFC0 of 11 "
                                "bytes"),
    (EXIF_JPEG[:3_000], "it ends after 3,000 bytes, inside its JPEG segment 0xFFE1 of "),
    (patched(JPEG, frame_at(JPEG) + 5, b"\x00\x00"), "its JPEG header gives a size of 4x0 (width x height)"),
    (patched(JPEG, frame_at(JPEG) + 4, b"\x0c"), "its JPEG frame header gives 12-bit samples; only 8-bit JPEG is read"),
    (patched(JPEG, frame_at(JPEG) + 9, b"\x02"), "its JPEG frame header gives 2 components; only 1, 3 or 4 are read"),
    (patched(JPEG, frame_at(JPEG), b"\xff\xda"), "its JPEG image data (SOS) starts before any frame header (SOFn) "
                                                 "gives its size"),
    (patched(JPEG, 2, b"\xff\x10"), "it holds 0xFF10 where a JPEG marker should be"),
    (b"\xff\xd8\xff\xe0\x00\x01", "its JPEG segment 0xFFE0 declares a length of 1, less than 2"),
], ids=["empty", "text", "gif", "cut png signature", "cut jpeg signature", "cut ihdr", "zero width", "zero height",
        "bad crc", "bad depth", "no ihdr", "jpeg cut before its frame", "jpeg cut in its frame", "jpeg cut in exif",
        "jpeg zero height", "12-bit jpeg", "2-component jpeg", "scan before frame", "reserved marker", "short segment"])
def test_what_pillow_cannot_open_is_one_phrase(tmp_path: Path, data: bytes, problem: str) -> None:
    with pytest.raises(Unreadable) as info:
        read(tmp_path, data)
    assert info.value.problem.startswith(problem), info.value.problem
    with pytest.raises((OSError, SyntaxError, ValueError)):  # Pillow's own open refuses each of them too
        Image.open(io.BytesIO(data)).load()


@pytest.mark.parametrize(("limit", "value", "problem"), [
    ("MAX_JPEG_SEGMENTS", 2, "its first 2 JPEG segments hold no frame header (SOFn)"),
    ("MAX_SKIPPED", 3, "it holds more than 3 bytes between its JPEG segments"),
])
def test_a_jpeg_header_is_walked_a_bounded_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str,
                                               value: int, problem: str) -> None:
    jpeg = encoded("RGB", (4, 2), "JPEG")  # APP0, two DQT tables, then the frame header
    at = frame_at(jpeg)
    monkeypatch.setattr(image_headers, limit, value)
    with pytest.raises(Unreadable, match=problem.replace("(", r"\(").replace(")", r"\)")):
        read(tmp_path, jpeg[:at] + b"junk" + jpeg[at:])


def test_a_file_that_cannot_be_opened_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    path = tmp_path / "image.png"
    path.write_bytes(PNG)
    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(Unreadable, match=r"^it cannot be read \(Permission denied\)$"):
        read_header(path)
