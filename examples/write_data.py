"""Write the example data sets that some examples train on, from data scikit-learn ships (no download).

    python examples/write_data.py digits_folder   # examples/data/digits_folder/<digit>/<n>.png

Each sub-command writes one data set under examples/data/ (not committed; see .gitignore).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def digits_folder(folder: Path) -> None:
    """scikit-learn's 1,797 8x8 digits as grayscale PNG files, one sub-folder per digit (0..9).

    8x8, as scikit-learn has them: examples/digits_folder.yaml then trains the same pixels as
    examples/digits_cnn.yaml, so the two runs' accuracies compare the pipelines, not the data.
    """
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels, labels = load_digits(return_X_y=True)
    for number, (image, label) in enumerate(zip(pixels, labels, strict=True)):
        target = folder / str(label)
        target.mkdir(parents=True, exist_ok=True)
        values = np.round(image.reshape(8, 8) * (255 / 16)).astype(np.uint8)  # 0..16 -> 0..255
        Image.fromarray(values).save(target / f"{number:04d}.png")


DATA_SETS: dict[str, Callable[[Path], None]] = {"digits_folder": digits_folder}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_set", choices=sorted(DATA_SETS))
    parser.add_argument("--to", type=Path, help="the folder to write (default: examples/data/<data set>)")
    args = parser.parse_args()
    folder = args.to or DATA / args.data_set
    DATA_SETS[args.data_set](folder)
    print(f"wrote {folder}")


if __name__ == "__main__":
    main()
