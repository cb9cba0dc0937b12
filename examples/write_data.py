"""Writes the example data sets from scikit-learn's bundled copies (no download): `python examples/write_data.py NAME`.

breast_cancer: examples/data/breast_cancer.csv, 569 tumours, 30 numeric features under their names and a
`label` column (0 malignant, 1 benign), for examples/breast_cancer.yaml.
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


WRITERS: dict[str, Callable[[Path], Path]] = {"breast_cancer": breast_cancer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(WRITERS), help="the data set to write")
    parser.add_argument("--folder", type=Path, default=DATA, help=f"where to write it (default: {DATA})")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    print(f"wrote {WRITERS[args.name](args.folder)}")


if __name__ == "__main__":
    main()
