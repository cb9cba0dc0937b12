"""Image folders: one sub-folder per class of PNG/JPEG files, decoded with Pillow only when a batch asks for them.

docs/architecture.md#data. `load_images` lists the folder (the sorted sub-folder names are the class
labels), opens every file's header once (a file Pillow cannot read, or a decompression bomb, stops the
run before training), splits the files as `dslc.runtime.data` splits arrays, and gives each split an
`ImageRows`: an array-like `(n, height, width, channels)` whose `__getitem__` decodes only the rows it
is asked for. Decoded pixels are kept when the whole folder fits `CACHE_BYTES`, so a small folder is
decoded once per run and a folder larger than memory still trains.

Each image is converted to the input's channels (last axis 1: grayscale "L", 3: "RGB") and resized to its
height x width: `crop` (default) scales the shorter side to fit and cuts the centre, `fit` scales the
longer side to fit and pads with black, `stretch` ignores the aspect ratio. Normalisation: `minmax`
divides by 255; `standard` uses the per-channel mean and deviation of at most `STATISTICS_SAMPLE` train
images (a sample drawn from the seed, so `prepare_inputs` computes the same). `augment` (random flip,
random translation by padding and cropping) changes train batches only, drawn from (seed, epoch, example),
so a resumed run sees the same batches.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dslc.compiler.image_folders import Folder, folder_inside, list_folder
from dslc.runtime.data import NUMPY_DTYPES, Dataset, Split, _error, _is_int, _split_indices, _target, _Want, _Where
from dslc.spec.errors import DslcError, Span, show_value
from dslc.spec.layers.base import show_array_shape as _show
from dslc.spec.vocab import Augment, Images

FORMATS = ("PNG", "JPEG")
MODES = {1: "L", 3: "RGB"}  # the input's last axis -> Pillow's mode
CACHE_BYTES = 512 * 2**20  # decoded pixels of a folder up to this size are kept after their first decode
STATISTICS_SAMPLE = 1_000  # train images that normalize 'standard' reads for its per-channel statistics
PIXEL_RANGE = 255.0
_AUGMENT_STREAM, _STATISTICS_STREAM = 3, 4  # streams of the seed (data.py uses 1 and 2)
_RESAMPLE = Image.Resampling.BILINEAR


@dataclass(frozen=True)
class Geometry:
    """The model input an image becomes: height x width x channels, and how to get there."""

    height: int
    width: int
    channels: int
    resize: str

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.height, self.width, self.channels


# -- the model's input ---------------------------------------------------------------------------
def geometry(source: Images, want: _Want, span: Span) -> Geometry:
    """The input's (height, width, channels); the model must take one input of known shape [h, w, 1 or 3]."""
    shapes = ", ".join(_show(tensor.shape) for _, tensor in want.inputs)
    if len(want.inputs) != 1:
        raise _error("E704", f"data 'images' gives one input, but the model takes {len(want.inputs)} ({shapes})",
                     span)
    name, tensor = want.inputs[0]
    shape = tensor.shape
    if len(shape) != 3 or None in shape or shape[-1] not in MODES:
        raise _error("E704", f"data 'images' gives images of shape [height, width, 1 or 3], but input '{name}' is "
                             f"{_show(shape)}", span, hint="declare the input as [height, width, 1] for grayscale "
                                                           "or [height, width, 3] for RGB")
    height, width, channels = shape
    assert height is not None and width is not None and channels is not None
    return Geometry(height, width, channels, source.resize)


# -- listing -------------------------------------------------------------------------------------
def resolve_folder(source: Images, where: _Where) -> Path:
    """The image folder inside the data folder (E702 when it or a symlink leads out, E701 when missing)."""
    base, named = where.base()
    return folder_inside(source.path, base, where.data("path"), named)


# -- decoding ------------------------------------------------------------------------------------
def check_header(path: Path, name: str, span: Span) -> None:
    """Pillow can identify the file as PNG or JPEG and its size is within `Image.MAX_IMAGE_PIXELS` (E701)."""
    with _opened(path, name, span):
        pass  # opening reads the header only


def decode(path: Path, name: str, shape: Geometry, span: Span) -> np.ndarray:
    """One image as uint8 (height, width, channels), in the input's channels and size."""
    side = max(shape.width, shape.height)  # either way up: the orientation tag may turn the image
    with _opened(path, name, span) as image:
        image.draft(MODES[shape.channels], (side, side))  # JPEG: decode at a reduced scale when that is enough
        upright = ImageOps.exif_transpose(image)  # a camera's orientation tag, applied
        pixels = _resized(upright.convert(MODES[shape.channels]), shape)
    return np.asarray(pixels, np.uint8).reshape(shape.shape)


@contextmanager
def _opened(path: Path, name: str, span: Span) -> Iterator[Image.Image]:
    """The image file open; whatever goes wrong reading it (a bomb: over `Image.MAX_IMAGE_PIXELS`) is E701."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as image:
                yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _unreadable(name, f"a decompression bomb: {exc}", span) from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise _unreadable(name, str(exc), span) from None


def _resized(image: Image.Image, shape: Geometry) -> Image.Image:
    width, height = image.size
    if (width, height) == (shape.width, shape.height):
        return image
    if shape.resize == "stretch":
        return image.resize((shape.width, shape.height), _RESAMPLE)
    if shape.resize == "crop":
        scale = max(shape.width / width, shape.height / height)
        scaled = (max(shape.width, round(width * scale)), max(shape.height, round(height * scale)))
        left, top = (scaled[0] - shape.width) // 2, (scaled[1] - shape.height) // 2
        return image.resize(scaled, _RESAMPLE).crop((left, top, left + shape.width, top + shape.height))
    scale = min(shape.width / width, shape.height / height)  # fit: the whole image, centred on black
    scaled = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = Image.new(image.mode, (shape.width, shape.height))
    canvas.paste(image.resize(scaled, _RESAMPLE), ((shape.width - scaled[0]) // 2, (shape.height - scaled[1]) // 2))
    return canvas


def _unreadable(name: str, problem: str, span: Span) -> DslcError:
    return _error("E701", f"image '{name}' cannot be read as PNG or JPEG: {show_value(problem)}", span,
                  hint="remove or replace the file")


class Decoder:
    """Decodes a folder's images by index, keeping the pixels when the whole folder fits `cache_bytes`."""

    def __init__(self, folder: Folder, shape: Geometry, span: Span) -> None:
        self.folder, self.shape, self.span = folder, shape, span
        count = len(folder.files)
        fits = count * int(np.prod(shape.shape)) <= CACHE_BYTES
        self.cache = np.empty((count, *shape.shape), np.uint8) if fits else None
        self.cached = np.zeros(count, bool)
        self.decodes = 0  # images decoded so far (the tests count them)

    def __getstate__(self) -> dict[str, Any]:
        """Sent to a worker process without its cache: each worker decodes what it is asked for."""
        return {**self.__dict__, "cache": None, "cached": np.zeros(0, bool)}

    def pixels(self, rows: np.ndarray) -> np.ndarray:
        """uint8 (len(rows), height, width, channels) of the images at `rows`, each decoded at most once here."""
        unique, inverse = np.unique(rows, return_inverse=True)
        decoded = np.empty((len(unique), *self.shape.shape), np.uint8)
        for position, row in enumerate(unique.tolist()):
            decoded[position] = self._one(row)
        return decoded[inverse.reshape(-1)]

    def _one(self, row: int) -> np.ndarray:
        if self.cache is not None and self.cached[row]:
            return self.cache[row]
        pixels = decode(self.folder.files[row], self.folder.names[row], self.shape, self.span)
        self.decodes += 1
        if self.cache is not None:
            self.cache[row], self.cached[row] = pixels, True
        return pixels


@dataclass(frozen=True)
class Scaling:
    """Pixels (uint8) to the input's values: (pixels - shift) / scale per channel, in the input's dtype."""

    shift: np.ndarray  # (channels,)
    scale: np.ndarray  # (channels,)
    dtype: type

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        if not np.any(self.shift) and np.all(self.scale == 1):
            return pixels.astype(self.dtype)
        return ((pixels.astype(np.float32) - self.shift) / self.scale).astype(self.dtype)


class ImageRows:
    """A split's images as an array-like (n, height, width, channels): indexing decodes only those rows."""

    decoded = True  # decoding is CPU-bound: `--workers` makes these rows in worker processes (runtime/pipeline.py)

    def __init__(self, decoder: Decoder, rows: np.ndarray, scaling: Scaling) -> None:
        self.decoder, self.rows, self.scaling = decoder, rows, scaling
        self.shape: tuple[int, ...] = (len(rows), *decoder.shape.shape)
        self.classes = decoder.folder.classes  # the label names: class id i is classes[i]
        self.dtype = np.dtype(scaling.dtype)
        self.ndim = len(self.shape)
        self.nbytes = int(np.prod(self.shape)) * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: Any) -> np.ndarray:  # an index array, a slice or an int, as numpy's
        local = np.arange(len(self.rows))[index]
        pixels = self.decoder.pixels(self.rows[local].reshape(-1))
        return self.scaling(pixels).reshape(*np.shape(local), *self.decoder.shape.shape)


class Augmenter:
    """Random flips and translations of train images, drawn from (seed, epoch, example index) alone."""

    def __init__(self, augment: Augment, seed: int) -> None:
        self.flip, self.crop, self.seed = augment.flip, augment.crop, seed

    def __call__(self, inputs: tuple[np.ndarray, ...], index: np.ndarray, epoch: int) -> tuple[np.ndarray, ...]:
        images = inputs[0]
        flat = images.reshape(-1, *images.shape[-3:])
        out = np.empty_like(flat)
        pad = self.crop
        padded = np.pad(flat, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad else flat
        height, width = flat.shape[1:3]
        for position, example in enumerate(np.asarray(index).reshape(-1).tolist()):
            rng = np.random.default_rng([self.seed, _AUGMENT_STREAM, epoch, example])
            top, left = rng.integers(0, 2 * pad + 1, 2) if pad else (0, 0)
            window = padded[position, top:top + height, left:left + width]
            out[position] = window[:, ::-1] if self.flip and rng.random() < 0.5 else window
        return (out.reshape(images.shape), *inputs[1:])


# -- the data set --------------------------------------------------------------------------------
def load_images(source: Images, want: _Want, seed: int, where: _Where) -> Dataset:
    """The folder's images split and shaped for the model; every fault is a located `DslcError`."""
    span = where.data("path")
    shape = geometry(source, want, span)
    folder, decoder = open_folder(source, where, shape)
    name, tensor = want.inputs[0]
    if source.normalize != "none" and _is_int(tensor.dtype):
        raise _error("E705", f"normalize={source.normalize} gives floats, but input '{name}' takes {tensor.dtype}",
                     where.data("normalize", "path"), hint="use normalize: none for integer inputs")
    what = f"image folder '{source.path}' ({len(folder.classes)} classes)"
    target = _target(np.asarray(folder.labels, np.int64), want, what, span)
    index = _train_validation_test(source, folder, want, seed)
    scaling = _scaling(source, shape.channels, NUMPY_DTYPES.get(tensor.dtype, np.float32), (decoder, index[0], seed))
    augment = Augmenter(source.augment, seed) if source.augment and (source.augment.flip or source.augment.crop) \
        else None
    splits = [Split((ImageRows(decoder, rows, scaling),), target[rows]) for rows in index]
    return Dataset(Split(splits[0].inputs, splits[0].target, augment), splits[1], splits[2])


def open_folder(source: Images, where: _Where, shape: Geometry) -> tuple[Folder, Decoder]:
    """The listed folder, every header checked, and a decoder for it."""
    span = where.data("path")
    root = resolve_folder(source, where)
    base, named = where.base()
    folder = list_folder(source.path, root, base, span, named)
    for path, name in zip(folder.files, folder.names, strict=True):
        check_header(path, name, span)
    return folder, Decoder(folder, shape, span)


def _scaling(source: Images, channels: int, dtype: type, statistics: tuple[Decoder, np.ndarray, int] | None) -> Scaling:
    """`statistics` (the decoder, the train rows and the seed) is needed for normalize 'standard' only."""
    if source.normalize == "none":
        return Scaling(np.zeros(channels), np.ones(channels), dtype)
    if source.normalize == "minmax":
        return Scaling(np.zeros(channels), np.full(channels, PIXEL_RANGE), dtype)
    assert statistics is not None
    decoder, train_rows, seed = statistics
    sample = train_rows
    if len(sample) > STATISTICS_SAMPLE:
        rng = np.random.default_rng([seed, _STATISTICS_STREAM])
        sample = np.sort(rng.choice(train_rows, STATISTICS_SAMPLE, replace=False))
    pixels = decoder.pixels(sample).reshape(-1, channels).astype(np.float64)
    mean = pixels.mean(axis=0) if len(pixels) else np.zeros(channels)
    deviation = pixels.std(axis=0) if len(pixels) else np.ones(channels)
    return Scaling(mean, np.where(deviation > 0, deviation, 1.0), dtype)


# -- new examples (`dslc predict`) ---------------------------------------------------------------
def image_inputs(source: Images, want: _Want, array: np.ndarray, what: str, seed: int, where: _Where) -> np.ndarray:
    """New images (pixel values 0..255 in the input's shape) normalised as training normalised its images."""
    name, tensor = want.inputs[0]
    shape = geometry(source, want, where.data("path"))
    if array.shape[1:] != shape.shape:
        raise _error("E704", f"{what}: input '{name}' expects images of shape {_show(shape.shape)} (pixel values "
                             f"0..255), got {_show(array.shape[1:])} (array {_show(array.shape)})", None)
    if array.dtype.kind not in "biuf":
        raise _error("E705", f"{what} has dtype {array.dtype}, but data 'images' is pixel values 0..255", None)
    statistics = None
    if source.normalize == "standard":  # the statistics of the run's train split, read again
        folder, decoder = open_folder(source, where, shape)
        statistics = (decoder, _train_validation_test(source, folder, want, seed)[0], seed)
    scaling = _scaling(source, shape.channels, NUMPY_DTYPES.get(tensor.dtype, np.float32), statistics)
    return scaling(np.asarray(array, np.float32))


def _train_validation_test(source: Images, folder: Folder, want: _Want,
                           seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of each split, stratified by class when the loss reads class ids."""
    labels = np.asarray(folder.labels, np.int64) if want.classes is not None else None
    return _split_indices(len(folder.labels), source.validation, source.test, seed, labels)
