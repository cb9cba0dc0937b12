"""Writes the example data sets from scikit-learn's bundled copies (no download): `python examples/write_data.py NAME`.

Each writes under examples/data/ (not committed; see .gitignore), or under `--folder`:

    breast_cancer   data/breast_cancer.csv: 569 tumours, 30 numeric features under their names and a `label` column
                    (0 malignant, 1 benign), for examples/breast_cancer.yaml
    diabetes        data/diabetes_x.npy, data/diabetes_y.npy: 442 patients, 10 raw features (age, sex, BMI, blood
                    pressure, six serum values) and disease progression, for examples/diabetes.yaml
    descriptions    data/descriptions.txt: the descriptions of scikit-learn's bundled data sets (about 15 KB of
                    English text), for examples/text_bytes.yaml
    digits_folder   data/digits_folder/<digit>/<n>.png: the 1,797 8x8 digits as grayscale PNG files, one sub-folder
                    per digit, for examples/digits_folder.yaml
    digits_halves   data/digits_0_4.npz, data/digits_5_9.npz: the digits 0-4 and 5-9 (labels 0-4 in both), scaled
                    to 32x32 pixels 0..1, for examples/digits_base.yaml and examples/frozen_base.yaml (fine-tuning)
    python_stdlib   data/python_stdlib/<module path>.py.txt: the running Python's standard library sources (no tests),
                    in path order up to about 3 MB, one document per module, for examples/python_bpe.yaml
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def breast_cancer(folder: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    path = folder / "breast_cancer.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*bunch.feature_names, "label"])
        for features, label in zip(bunch.data.tolist(), bunch.target.tolist(), strict=True):
            writer.writerow([*map(repr, features), label])
    return path


def diabetes(folder: Path) -> Path:
    import numpy as np
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True, scaled=False)
    np.save(folder / "diabetes_x.npy", x.astype(np.float32))
    np.save(folder / "diabetes_y.npy", y.astype(np.float32).reshape(-1, 1))
    return folder / "diabetes_x.npy"


def descriptions(folder: Path) -> Path:
    from sklearn import datasets

    loaders = (datasets.load_iris, datasets.load_digits, datasets.load_wine, datasets.load_breast_cancer,
               datasets.load_diabetes, datasets.load_linnerud)
    path = folder / "descriptions.txt"
    path.write_text("\n\n".join(load().DESCR.strip() for load in loaders) + "\n", encoding="utf-8")
    return path


def digits_folder(folder: Path) -> Path:
    """8x8, as scikit-learn has them: examples/digits_folder.yaml then trains the same pixels as
    examples/digits_cnn.yaml, so the two runs' accuracies compare the pipelines, not the data."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    root = folder / "digits_folder"
    pixels, labels = load_digits(return_X_y=True)
    for number, (image, label) in enumerate(zip(pixels, labels, strict=True)):
        target = root / str(label)
        target.mkdir(parents=True, exist_ok=True)
        values = np.round(image.reshape(8, 8) * (255 / 16)).astype(np.uint8)  # 0..16 -> 0..255
        Image.fromarray(values).save(target / f"{number:04d}.png")
    return root


def digits_halves(folder: Path) -> Path:
    """Two tasks from one data set, to fine-tune on the second what was learned on the first: each digit's 8x8
    pixels enlarged 4 times (each pixel a 4x4 square; 0..16 -> 0..1), x (n, 32, 32, 1) and y the digit (- 5 for the
    second half)."""
    import numpy as np
    from sklearn.datasets import load_digits

    pixels, labels = load_digits(return_X_y=True)
    images = np.kron(pixels.reshape(-1, 8, 8) / 16.0, np.ones((4, 4)))[..., None].astype(np.float32)
    for low, name in ((0, "digits_0_4.npz"), (5, "digits_5_9.npz")):
        chosen = (labels >= low) & (labels < low + 5)
        np.savez(folder / name, x=images[chosen], y=(labels[chosen] - low).astype(np.int32))
    return folder / "digits_0_4.npz"


STDLIB_BYTES = 3_000_000  # enough text for a small BPE model to learn from in minutes on two CPU cores
STDLIB_SKIPPED = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


def python_stdlib(folder: Path) -> Path:
    """Every machine with Python has this corpus: its standard library's .py files (test suites and installed
    packages left out), in sorted path order until STDLIB_BYTES, copied as .txt files under their module paths.
    The same Python version writes the same files."""
    import sysconfig

    source = Path(sysconfig.get_paths()["stdlib"])
    root = folder / "python_stdlib"
    written = 0
    for path in sorted(source.rglob("*.py"), key=lambda path: path.relative_to(source).parts):
        relative = path.relative_to(source)
        if STDLIB_SKIPPED & set(relative.parts) or not path.is_file():
            continue
        text = path.read_bytes()
        if written + len(text) > STDLIB_BYTES:
            break
        target = root / relative.parent / f"{relative.name}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
        written += len(text)
    return root


WRITERS: dict[str, Callable[[Path], Path]] = {"breast_cancer": breast_cancer, "descriptions": descriptions,
                                              "diabetes": diabetes, "digits_folder": digits_folder,
                                              "digits_halves": digits_halves, "python_stdlib": python_stdlib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(WRITERS), help="the data set to write")
    parser.add_argument("--folder", type=Path, default=DATA, help=f"where to write it (default: {DATA})")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    print(f"wrote {WRITERS[args.name](args.folder)}")


if __name__ == "__main__":
    main()
