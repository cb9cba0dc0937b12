"""Write the data files of the examples that train on local files, from scikit-learn's bundled data sets.

    python examples/write_data.py diabetes   # examples/data/diabetes_x.npy, diabetes_y.npy

Nothing is downloaded; the files are not committed (examples/data/ is ignored by git).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"


def diabetes(folder: Path) -> None:
    """442 patients: 10 raw features (age, sex, BMI, blood pressure, six serum values) and disease progression."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True, scaled=False)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "diabetes_x.npy", x.astype(np.float32))
    np.save(folder / "diabetes_y.npy", y.astype(np.float32).reshape(-1, 1))
    print(f"wrote {folder / 'diabetes_x.npy'} {x.shape} and {folder / 'diabetes_y.npy'} ({len(y)}, 1)")


DATA_SETS = {"diabetes": diabetes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DATA, help=f"where to write (default: {DATA})")
    sub = parser.add_subparsers(dest="data_set", required=True)
    for name, write in DATA_SETS.items():
        sub.add_parser(name, help=(write.__doc__ or "").splitlines()[0])
    args = parser.parse_args(argv)
    DATA_SETS[args.data_set](args.folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
