"""Benchmark: the CPU time `runtime/tabular.py` takes to read a large CSV or Parquet table, or to stop at its fault.

    python bench/tabular_faults.py                 # 1,000 MB, 3 runs of each case
    python bench/tabular_faults.py --size-mb 200 --runs 5

The data is written into a temporary folder (removed at the end): a CSV file of about `--size-mb` MB of 31
numeric columns (30 features, then the label; 6-decimal standard normal values, about 290 bytes a line), then
Parquet files of as many rows (float64 features, int64 labels, row groups of 65,536 rows). Each case runs in a
fresh process, reading the file once (it is in the page cache after the first run). Printed: the median CPU
seconds (user + system, every thread) of the read alone and of the whole process (interpreter start and imports
in), and the read's ratio to pyarrow's bare read of the same file (`pyarrow.csv.read_csv` with float64 columns,
`pyarrow.parquet.read_table`, both with their default threads).

The cases: a fault-free read; an early fault (line 2); a late fault in the last line: an empty cell, 'abc',
'nan', a ragged row; for Parquet a null in the first row, a NaN in the last row.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import machine, package_version, run_child

COLUMNS = 31  # 30 features and the label
ROWS_PER_CHUNK = 20_000  # rows generated at a time (the CSV repeats one chunk: text formatting is slow)
FAULTS = {  # the last (or first) data line made faulty: the cells of a good line -> a faulty line
    "empty cell": lambda cells: [cells[0], "", *cells[2:]],
    "'abc'": lambda cells: [cells[0], "abc", *cells[2:]],
    "'nan'": lambda cells: [cells[0], "nan", *cells[2:]],
    "ragged row": lambda cells: cells[:-1],
}


# -- the child: one read, its CPU time as JSON ---------------------------------------------------------------
def child(case: str, path: Path) -> None:
    """Reads `path` as `case` says ('bare' or 'dslc') and prints {"cpu": seconds, "outcome": ...}."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from dslc.runtime import tabular
    from dslc.spec.errors import DslcError, Span

    start = _cpu()
    if case == "bare" and path.suffix == ".parquet":
        outcome = f"{pq.read_table(path).num_rows:,} rows"
    elif case == "bare":
        with path.open() as handle:
            names = handle.readline().strip().split(",")
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names,
                                                                                                     pa.float64())))
        outcome = f"{table.num_rows:,} rows"
    else:
        span = Span("bench.yaml", 1, 1)
        try:
            read = tabular.read_table(path, path.suffix[1:], tabular.Request(path.name, "label", None, span, span,
                                                                             span))
            outcome = f"{len(read.label):,} rows"
        except DslcError as error:
            outcome = f"{error.code}: {error.message}"
    print(json.dumps({"cpu": _cpu() - start, "outcome": outcome}))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the data ------------------------------------------------------------------------------------------------
def write_csv(path: Path, size: int) -> int:
    """A CSV file of about `size` bytes; returns its data lines."""
    import numpy as np

    rng = np.random.default_rng(0)
    values = rng.standard_normal((ROWS_PER_CHUNK, COLUMNS))
    chunk = "".join(",".join(f"{v:.6f}" for v in row[:-1]) + f",{int(abs(row[-1]) * 3) % 3}\n"
                    for row in values).encode()
    lines = 0
    with path.open("wb") as handle:
        handle.write((",".join(f"f{i}" for i in range(COLUMNS - 1)) + ",label\n").encode())
        for _ in range(max(1, size // len(chunk))):
            handle.write(chunk)
            lines += ROWS_PER_CHUNK
    return lines


def set_line(path: Path, last: bool, fault: str | None) -> None:
    """Makes the last (or first) data line faulty, in place (`fault` None: the good line back). The first line is
    rewritten with the whole file; the last one by truncating the file before it."""
    with path.open("r+b") as handle:
        if last:
            handle.seek(-4096, 2)
            tail = handle.read()
            start = tail.rindex(b"\n", 0, len(tail) - 1) + 1
            handle.seek(start - len(tail), 2)
            handle.truncate()
            handle.write(_line(tail[start:-1], fault))
            return
    copy = path.with_suffix(".tmp")
    with path.open("rb") as source, copy.open("wb") as target:
        target.write(source.readline())
        target.write(_line(source.readline().rstrip(b"\n"), fault))
        shutil.copyfileobj(source, target, 16 << 20)
    copy.replace(path)


def _line(good: bytes, fault: str | None) -> bytes:
    cells = good.decode().split(",")
    cells = [cells[0], "0.5", *cells[2:-1], cells[-1]] if fault is None else FAULTS[fault](cells)
    return ",".join(cells).encode() + b"\n"


def write_parquet(path: Path, rows: int, fault_at: int | None, value: float | None) -> None:
    """`rows` rows in row groups of 65,536; the value at (`fault_at`, column f1) replaced by `value`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    schema = pa.schema([(f"f{i}", pa.float64()) for i in range(COLUMNS - 1)] + [("label", pa.int64())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, 65_536):
            count = min(65_536, rows - start)
            features = rng.standard_normal((count, COLUMNS - 1))
            columns = [pa.array(features[:, i]) for i in range(COLUMNS - 1)]
            if fault_at is not None and start <= fault_at < start + count:
                column = features[:, 1].tolist()
                column[fault_at - start] = value
                columns[1] = pa.array(column, pa.float64())
            labels = pa.array(rng.integers(0, 3, count))
            writer.write_table(pa.table([*columns, labels], schema=schema))


# -- running ---------------------------------------------------------------------------------------------------
def measure(case: str, path: Path, runs: int) -> tuple[list[float], list[float], str]:
    """The read's and the process's CPU seconds of each run, and the outcome of the last."""
    reads, processes, outcome = [], [], ""
    for _ in range(runs):
        done = run_child([sys.executable, __file__, "--child", case, str(path)]).check(f"{case} {path.name}")
        result = done.last_json()
        reads.append(result["cpu"])
        processes.append(done.cpu)
        outcome = result["outcome"]
    return reads, processes, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    rows: list[tuple[str, list[float], list[float], str]] = []
    with tempfile.TemporaryDirectory(prefix="dslc-tabular-") as folder:
        csv_path = Path(folder) / "t.csv"
        lines = write_csv(csv_path, args.size_mb * 1_000_000)
        size = csv_path.stat().st_size
        set_line(csv_path, True, None)

        def run(name: str, case: str, path: Path) -> None:
            rows.append((name, *measure(case, path, args.runs)))

        run("CSV: pyarrow bare parse", "bare", csv_path)
        run("CSV: dslc, no fault", "dslc", csv_path)
        set_line(csv_path, False, "empty cell")
        run("CSV: dslc, empty cell on line 2", "dslc", csv_path)
        set_line(csv_path, False, None)
        for fault in FAULTS:
            set_line(csv_path, True, None)
            set_line(csv_path, True, fault)
            run(f"CSV: dslc, {fault} on the last line", "dslc", csv_path)
        csv_path.unlink()
        parquet = Path(folder) / "t.parquet"
        write_parquet(parquet, lines, None, None)
        run("Parquet: pyarrow read_table", "bare", parquet)
        run("Parquet: dslc, no fault", "dslc", parquet)
        write_parquet(parquet, lines, 0, None)
        run("Parquet: dslc, null in row 1", "dslc", parquet)
        write_parquet(parquet, lines, lines - 1, float("nan"))
        run("Parquet: dslc, NaN in the last row", "dslc", parquet)
    print(f"{size / 1e6:,.0f} MB CSV, {lines:,} rows of {COLUMNS} columns; {machine()}; pyarrow "
          f"{package_version('pyarrow')}; medians of {args.runs} runs, fresh processes\n")
    print(f"| {'case':<40} | {'read CPU s':>10} | {'process CPU s':>13} | {'/ bare':>6} | outcome")
    print(f"|{'-' * 42}|{'-' * 12}|{'-' * 15}|{'-' * 8}|{'-' * 9}")
    bare = 0.0
    for name, reads, processes, outcome in rows:
        read = statistics.median(reads)
        bare = read if "pyarrow" in name else bare
        shown = outcome if len(outcome) < 70 else outcome[:67] + "..."
        print(f"| {name:<40} | {read:>10.2f} | {statistics.median(processes):>13.2f} | {read / bare:>6.2f} | {shown}")


if __name__ == "__main__":
    main()
