"""Image folders: classes and labels, resizing, channels, normalisation, train-only augmentation drawn from the
seed, decoding only what batches ask for, every fault a located error (exit 2), and a CNN trained on a folder.

Each error case marks with `«` where the error must point; the mark is removed before the spec is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dslc.compiler import image_folders
from dslc.compiler.analysis.analyse import analyse
from dslc.runtime import images
from dslc.runtime.cli import main
from dslc.runtime.data import Dataset, load_dataset, prepare_inputs
from dslc.spec.errors import DslcError
from dslc.spec.load import load

MARK = "«"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write_spec(folder: Path, data: str, *, inputs: str = "{image: [4, 4, 1]}", classes: int = 3,
               batch: int = 2) -> tuple[Path, tuple[int, int] | None]:
    """A YAML spec in `folder` (a CNN-free model: flatten, dense); returns its path and the mark's (line, col)."""
    text = (f"dslc: 1\nmodel:\n  name: m\n  inputs: {inputs}\n  layers:\n    - flatten\n"
            f"    - dense: {{units: {classes}}}\ntrain:\n  loss: softmax_cross_entropy\n"
            f"  optimizer: {{adam: {{lr: 0.01}}}}\n  batch: {batch}\n  epochs: 1\n  data: {data}\n")
    position = None
    for number, line in enumerate(text.splitlines(), start=1):
        if MARK in line:
            position = (number, line.index(MARK) + 1)
    path = folder / "spec.yaml"
    path.write_text(text.replace(MARK, ""))
    return path, position


def save(path: Path, pixels: np.ndarray | list, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, np.uint8), mode).save(path)
    return path


def folder_of(root: Path, per_class: dict[str, int], size: tuple[int, int] = (4, 4)) -> None:
    """Class folders of grey images whose value encodes (class, number): 10 * class + number + 1."""
    for label, (name, count) in enumerate(per_class.items()):
        for number in range(count):
            save(root / name / f"{number}.png", np.full(size, 10 * label + number + 1))


def dataset(path: Path, seed: int = 0) -> Dataset:
    loaded = load(path)
    return load_dataset(loaded, analyse(loaded), seed)


def data_error(path: Path) -> DslcError:
    with pytest.raises(DslcError) as info:
        dataset(path)
    return info.value


def train_cli(spec: Path, capsys: pytest.CaptureFixture[str], *args: str, run: str = "run") -> tuple[int, str]:
    code = main(["train", str(spec), "--workdir", str(spec.parent / run), "--quiet", *args])
    return code, capsys.readouterr().err


def rows(split: object) -> np.ndarray:
    """Every example of a split, decoded."""
    data = split.inputs[0]  # type: ignore[attr-defined]
    return data[np.arange(len(data))]


# -- classes, labels, resizing, channels ---------------------------------------------------------------------------
def test_classes_are_the_sorted_sub_folders_and_each_image_is_labelled_by_its_folder(tmp_path: Path) -> None:
    folder_of(tmp_path / "imgs", {"cat": 3, "ant": 3, "bee": 3})
    save(tmp_path / "imgs" / "bee" / "UPPER.PNG", np.full((4, 4), 200))  # the suffix's case does not matter
    (tmp_path / "imgs" / "ant" / "notes.txt").write_text("not an image")  # other files are left alone
    save(tmp_path / "imgs" / ".hidden" / "0.png", np.zeros((4, 4)))  # hidden folders are no class
    spec, _ = write_spec(tmp_path, "{images: {path: imgs, normalize: none, validation: 0, test: 0}}")
    data = dataset(spec)
    assert data.train.inputs[0].classes == ("ant", "bee", "cat")  # type: ignore[union-attr]
    pixels, labels = rows(data.train), data.train.target
    assert pixels.shape == (10, 4, 4, 1) and pixels.dtype == np.float32 and labels.dtype == np.int32
    # 'ant' was written second (label 1 in folder_of), so its values are 11..13 and its class id is 0
    firsts = pixels[:, 0, 0, 0]
    by_class = {int(label): sorted(set(firsts[labels == label].tolist())) for label in np.unique(labels)}
    assert by_class == {0: [11.0, 12.0, 13.0], 1: [21.0, 22.0, 23.0, 200.0], 2: [1.0, 2.0, 3.0]}


def test_resize_crop_cuts_the_centre_fit_pads_and_stretch_squeezes(tmp_path: Path) -> None:
    wide = np.tile(np.repeat([10, 60, 120, 250], 2), (4, 1))  # 4 high, 8 wide: four bands of 2 columns
    save(tmp_path / "imgs" / "a" / "wide.png", wide)
    results = {}
    for mode in ("crop", "fit", "stretch"):
        spec, _ = write_spec(tmp_path, f"{{images: {{path: imgs, resize: {mode}, normalize: none, validation: 0, "
                                       "test: 0}}", classes=1, batch=1)
        results[mode] = rows(dataset(spec).train)[0, :, :, 0]
    np.testing.assert_array_equal(results["crop"], wide[:, 2:6])  # the shorter side fits: the middle 4 columns
    assert (results["fit"][[0, 3]] == 0).all() and (results["fit"][1:3] > 0).all()  # 2 x 4, centred, black above
    assert results["stretch"].shape == (4, 4) and (results["stretch"][:, 0] < 40).all() and \
        (results["stretch"][:, 3] > 200).all()  # every band, squeezed


def test_the_input_channels_pick_grayscale_or_rgb(tmp_path: Path) -> None:
    save(tmp_path / "imgs" / "red" / "0.png", np.tile([255, 0, 0], (2, 2, 1)))
    save(tmp_path / "imgs" / "grey" / "0.png", np.full((2, 2), 100))
    data = "{images: {path: imgs, validation: 0, test: 0}}"
    rgb = dataset(write_spec(tmp_path, data, inputs="{image: [2, 2, 3]}", classes=2)[0]).train
    gray = dataset(write_spec(tmp_path, data, inputs="{image: [2, 2, 1]}", classes=2)[0]).train
    by_class = {int(label): image for image, label in zip(rows(rgb), rgb.target, strict=True)}
    np.testing.assert_allclose(by_class[1][0, 0], [1.0, 0.0, 0.0])  # minmax: / 255
    np.testing.assert_allclose(by_class[0][0, 0], [100 / 255] * 3, rtol=1e-6)  # grey in RGB: equal channels
    red_in_gray = rows(gray)[list(gray.target).index(1)]
    np.testing.assert_allclose(red_in_gray, np.full((2, 2, 1), 76 / 255), rtol=1e-6)  # Pillow's L of pure red


def test_jpeg_and_png_of_any_mode_are_read_upright(tmp_path: Path) -> None:
    photo = Image.fromarray(np.repeat(np.repeat([[0, 255]], 8, axis=0), 8, axis=1).astype(np.uint8))  # 16 x 8
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show the image turned 90 degrees clockwise
    (tmp_path / "imgs" / "turned").mkdir(parents=True)
    photo.save(tmp_path / "imgs" / "turned" / "0.JPG", exif=exif)
    save(tmp_path / "imgs" / "alpha" / "0.png", np.tile([255, 255, 255, 0], (16, 8, 1)), "RGBA")
    (tmp_path / "imgs" / "palette").mkdir()
    Image.new("L", (8, 16), 77).convert("P").save(tmp_path / "imgs" / "palette" / "0.png")
    spec, _ = write_spec(tmp_path, "{images: {path: imgs, normalize: none, validation: 0, test: 0}}",
                         inputs="{image: [16, 8, 1]}", classes=3, batch=1)
    data = dataset(spec)
    by_class = dict(zip(data.train.target.tolist(), rows(data.train)[..., 0], strict=True))
    turned = by_class[2]
    assert turned[:8].mean() < 30 and turned[8:].mean() > 225  # the left half is now on top
    assert (by_class[0] == 255).all() and (by_class[1] == 77).all()  # the alpha dropped; the palette's grey


# -- normalisation and new inputs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("normalize", ["minmax", "standard", "none"])
def test_prepare_inputs_normalises_raw_pixels_as_training_did(tmp_path: Path, normalize: str) -> None:
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        for number in range(10):
            save(tmp_path / "imgs" / label / f"{number}.png", rng.integers(0, 256, (4, 4, 3)))
    spec, _ = write_spec(tmp_path, f"{{images: {{path: imgs, normalize: {normalize}}}}}", inputs="{image: [4, 4, 3]}",
                         classes=2)
    loaded = load(spec)
    data = load_dataset(loaded, analyse(loaded), seed=5)
    train = data.train.inputs[0]
    raw = train.decoder.pixels(train.rows)  # type: ignore[union-attr]
    prepared = prepare_inputs(loaded, analyse(loaded), 5, [raw])[0]
    np.testing.assert_allclose(prepared, rows(data.train), rtol=1e-6)
    if normalize == "standard":
        assert abs(float(prepared.mean())) < 1e-5 and abs(float(prepared.std()) - 1) < 1e-3
    with pytest.raises(DslcError) as info:
        prepare_inputs(loaded, analyse(loaded), 5, [raw[:, :2]])
    assert info.value.code == "E704" and "expects images of shape (4, 4, 3)" in info.value.message


# -- augmentation --------------------------------------------------------------------------------------------------
def augmented_folder(tmp_path: Path, augment: str = "{flip: true, crop: 1}") -> Path:
    tmp_path.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    for label in ("a", "b"):
        for number in range(12):
            save(tmp_path / "imgs" / label / f"{number}.png", rng.integers(1, 256, (6, 6)))
    return write_spec(tmp_path, f"{{images: {{path: imgs, augment: {augment}}}}}", inputs="{image: [6, 6, 1]}",
                      classes=2)[0]


def test_augmentation_is_drawn_from_seed_epoch_and_example_alone(tmp_path: Path) -> None:
    spec = augmented_folder(tmp_path)
    first, again = dataset(spec, seed=3), dataset(spec, seed=3)  # as a resumed run loads it again
    index = np.arange(len(first.train)).reshape(4, -1)[::-1]  # any shape, any order
    epoch_1, _ = first.gather("train", index, epoch=1)
    np.testing.assert_array_equal(epoch_1[0], again.gather("train", index, epoch=1)[0][0])
    # the same example draws the same change whichever batch it lands in
    np.testing.assert_array_equal(epoch_1[0][0, :3], again.gather("train", index[0, :3], epoch=1)[0][0])
    plain = first.gather("train", index)[0][0]
    assert not np.array_equal(epoch_1[0], plain)
    assert not np.array_equal(epoch_1[0], first.gather("train", index, epoch=2)[0][0])
    assert not np.array_equal(epoch_1[0], dataset(spec, seed=4).gather("train", index, epoch=1)[0][0])


def test_augmentation_changes_the_train_split_only(tmp_path: Path) -> None:
    data = dataset(augmented_folder(tmp_path))
    for split in ("validation", "test"):
        index = np.arange(len(data.split(split)))
        np.testing.assert_array_equal(data.gather(split, index, epoch=1)[0][0], data.gather(split, index)[0][0])
    assert data.validation.in_memory is False and data.train.augment is not None and data.test.augment is None


def test_a_flip_alone_gives_each_image_or_its_mirror(tmp_path: Path) -> None:
    data = dataset(augmented_folder(tmp_path, "{flip: true}"))
    index = np.arange(len(data.train))
    flipped, plain = data.gather("train", index, epoch=7)[0][0], data.gather("train", index)[0][0]
    mirrored = [np.array_equal(a, b[:, ::-1]) and not np.array_equal(a, b) for a, b in zip(flipped, plain, strict=True)]
    same = [np.array_equal(a, b) for a, b in zip(flipped, plain, strict=True)]
    assert all(m or s for m, s in zip(mirrored, same, strict=True)) and 0 < sum(mirrored) < len(index)


def test_a_resumed_run_draws_the_same_augmentations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = augmented_folder(tmp_path)
    assert train_cli(spec, capsys, "--epochs", "2", run="whole")[0] == 0
    assert train_cli(spec, capsys, "--epochs", "1", run="parts")[0] == 0
    assert train_cli(spec, capsys, "--epochs", "2", "--resume", run="parts")[0] == 0
    plain = augmented_folder(tmp_path / "plain", "{}")  # the same images, not augmented
    assert train_cli(plain, capsys, "--epochs", "2", run="whole")[0] == 0
    whole, parts, unaugmented = (json.loads((folder / "run.json").read_text())["parameters_sha256"]
                                 for folder in (tmp_path / "whole", tmp_path / "parts", tmp_path / "plain" / "whole"))
    assert whole == parts and whole != unaugmented  # the loop augments, and the same way after a resume


# -- decoding on demand --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cache", [True, False])
def test_batches_decode_only_the_images_they_ask_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     cache: bool) -> None:
    if not cache:  # a folder larger than the cache: nothing is kept
        monkeypatch.setattr(images, "CACHE_BYTES", 0)
    folder_of(tmp_path / "imgs", {"a": 20, "b": 20})
    spec, _ = write_spec(tmp_path, "{images: {path: imgs}}", classes=2, batch=4)
    data = dataset(spec)
    decoder = data.train.inputs[0].decoder  # type: ignore[union-attr]
    assert decoder.decodes == 0 and (decoder.cache is None) == (not cache)
    batch = next(data.batches("train", 4, epoch=1, seed=0, shuffle=True))
    assert batch[0][0].shape == (4, 4, 4, 1) and decoder.decodes == 4
    before = decoder.decodes
    data.gather("train", np.array([0, 0, 1]))  # one decode per image of a gather
    first = decoder.decodes - before
    assert first <= 2 if cache else first == 2
    data.gather("train", np.array([0, 0, 1]))
    assert decoder.decodes - before == (first if cache else 4)  # kept, or decoded again


# -- faults --------------------------------------------------------------------------------------------------------
def bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(tmp_path / "imgs" / "a" / "big.png", np.zeros((40, 40)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1,600 pixels: over twice the limit


def truncated_png(tmp_path: Path) -> None:
    path = save(tmp_path / "imgs" / "a" / "0.png", np.random.default_rng(0).integers(0, 256, (30, 30)))
    path.write_bytes(path.read_bytes()[:-200])  # the header reads; the pixels do not


@pytest.mark.parametrize(("make", "code", "message"), [
    (lambda tmp, mp: None, "E701", "image folder 'imgs' does not exist"),
    (lambda tmp, mp: (tmp / "imgs").write_text("x"), "E701", "image folder 'imgs' is not a folder"),
    (lambda tmp, mp: (tmp / "imgs").mkdir(), "E708", "image folder 'imgs' has no class sub-folder"),
    (lambda tmp, mp: (folder_of(tmp / "imgs", {"a": 1}), (tmp / "imgs" / "b").mkdir()), "E708",
     "class 'b' has no image"),
    (lambda tmp, mp: (folder_of(tmp / "imgs", {"a": 2}), (tmp / "imgs" / "a" / "9.jpg").write_bytes(b"junk")),
     "E701", "image 'imgs/a/9.jpg' cannot be read as PNG or JPEG"),
    (lambda tmp, mp: (folder_of(tmp / "imgs", {"a": 2}), save(tmp.parent / "outside.png", np.zeros((4, 4))),
                      (tmp / "imgs" / "a" / "link.png").symlink_to(tmp.parent / "outside.png")),
     "E702", "image 'imgs/a/link.png' resolves to"),
    (lambda tmp, mp: (folder_of(tmp.parent / "elsewhere", {"a": 2}),
                      (tmp / "imgs").symlink_to(tmp.parent / "elsewhere")),
     "E702", "image folder 'imgs' resolves to"),
    (lambda tmp, mp: (folder_of(tmp / "imgs", {"a": 2}), bomb(tmp, mp)), "E701",
     "image 'imgs/a/big.png' cannot be read as PNG or JPEG: 'a decompression bomb"),
    (lambda tmp, mp: (folder_of(tmp / "imgs", {"a": 2, "b": 2}), mp.setattr(image_folders, "MAX_CLASSES", 1)), "E708",
     "more than 1 class folders"),
    (lambda tmp, mp: (folder_of(tmp / "imgs", {"a": 2, "b": 2}), mp.setattr(image_folders, "MAX_FILES", 3)), "E708",
     "more than 3 images"),
], ids=["missing", "a file", "no class", "empty class", "unreadable", "symlink out", "folder symlink out", "bomb",
        "too many classes", "too many files"])
def test_each_fault_is_one_located_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], make: object, code: str,
                                                   message: str) -> None:
    spec_folder = tmp_path / "spec"
    spec_folder.mkdir()
    make(spec_folder, monkeypatch)  # type: ignore[operator]
    spec, (line, col) = write_spec(spec_folder, "{images: {path: «imgs}}", classes=2)  # type: ignore[misc]
    status, err = train_cli(spec, capsys)
    assert status == 2 and f"{spec}:{line}:{col}: error[{code}]: " in err and message in err, err
    assert "Traceback" not in err and not (spec_folder / "run").exists()


def test_an_image_that_fails_to_decode_mid_run_is_a_located_error(tmp_path: Path) -> None:
    truncated_png(tmp_path)
    spec, position = write_spec(tmp_path, "{images: {path: «imgs, validation: 0, test: 0}}", classes=1, batch=1)
    data = dataset(spec)  # the header is fine: the run starts
    with pytest.raises(DslcError) as info:
        data.gather("train", np.array([0]))
    error = info.value
    assert error.code == "E701" and "image 'imgs/a/0.png' cannot be read" in error.message
    assert error.span is not None and (error.span.line, error.span.col) == position


def test_a_model_input_that_is_no_image_is_refused_by_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, _ = write_spec(tmp_path, "{images: {path: imgs}}", inputs="{image: [16]}")
    assert main(["check", str(spec)]) == 2
    out = capsys.readouterr().out
    assert "error[E611]: data 'images' gives one input of shape [height, width, 1 or 3], but the model takes (16,)" \
        in out
    spec, _ = write_spec(tmp_path, "{images: {path: imgs}}")
    assert main(["check", "--warnings-as-errors", str(spec)]) == 1  # W109: the folder does not exist
    assert "warning[W109]: data path 'imgs' does not exist" in capsys.readouterr().out


# -- the example ---------------------------------------------------------------------------------------------------
def test_a_cnn_trained_on_the_digits_folder_beats_chance(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         example_data: Callable[[str], Path]) -> None:
    example_data("digits_folder")
    spec = tmp_path / "digits_folder.yaml"
    spec.write_text((EXAMPLES / "digits_folder.yaml").read_text())
    status, err = train_cli(spec, capsys, "--epochs", "2")
    assert status == 0, err
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["epochs"] == 2 and summary["test"]["accuracy"] > 0.5  # chance: 0.1
    # predict: new images as raw pixels; each row names its class folder beside the class id
    sevens = sorted((tmp_path / "data" / "digits_folder" / "7").glob("*.png"))[:3]
    np.save(tmp_path / "new.npy", np.stack([np.asarray(Image.open(path))[..., None] for path in sevens]))
    new = tmp_path / "new.npy"
    assert main(["predict", str(spec), "--checkpoint", str(tmp_path / "run"), "--input", str(new)]) == 0
    header, *predicted = capsys.readouterr().out.splitlines()
    assert header.startswith("prediction,class,p0,") and len(predicted) == 3
    assert all(row.split(",")[1] == row.split(",")[0] for row in predicted)  # the folders are named 0..9
