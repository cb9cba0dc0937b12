"""Shared test fixtures: paths of the examples and helpers to load text; how the suite compiles."""

from __future__ import annotations

import compileall
import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _byte_compile_dslc() -> None:
    """Byte-compile dslc's own modules once, before any test starts a process.

    The tests start hundreds of Python processes: `dslc` commands, and the hostile corpus' forked `dslc check`
    children. Where PYTHONDONTWRITEBYTECODE is set, as on the CI machines, none of them keeps the bytecode it
    compiles, so each compiled the dslc modules it imports from source again: about 0.1 s of CPU a `dslc check`,
    0.2 s a `dslc train`, 18 s for the hostile corpus. pip byte-compiles a package it installs; an editable
    install's sources are compiled here, into the `__pycache__` folders git ignores. Under pytest-xdist the
    controller does it before it starts the workers.
    """
    if "PYTEST_XDIST_WORKER" in os.environ:
        return
    for package in ("dslc", "dslc.spec", "dslc.compiler", "dslc.runtime"):  # compile_dir takes sub-packages too
        found = importlib.util.find_spec(package)
        if found is None:
            continue
        for folder in found.submodule_search_locations or ():
            compileall.compile_dir(folder, quiet=2)  # a folder it cannot write to (an installed copy) is left as is


_byte_compile_dslc()

# The suite compiles its programs without LLVM's costly optimisation passes (JAX's jax_disable_most_optimizations,
# read when JAX is imported, so the `dslc` processes the tests start do the same). The tests compare results,
# shapes and dtypes and train for a few steps: XLA compiles the same programs, with the same HLO passes, in about
# three quarters of the time, and the steps run slower (the whole suite: 794 -> 638 s of test time on 2 cores). A
# test whose run is long enough for the optimised steps to pay (the text example's three epochs: 23 s unoptimised,
# 14 s optimised) is marked `@pytest.mark.optimized` and compiles as users' runs do (`full_optimization` below).
# A variable set already (to 0, say) is left as it is.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def write_data() -> ModuleType:
    """examples/write_data.py as a module: its `WRITERS[NAME](folder)` writes a data set into `folder` with the
    command's own code (as `python examples/write_data.py NAME` does into examples/data)."""
    loader = importlib.util.spec_from_file_location("write_data", EXAMPLES / "write_data.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


@pytest.fixture
def example_data(tmp_path: Path, write_data: ModuleType) -> Callable[[str], Path]:
    """`example_data(NAME)` writes the data set NAME into `tmp_path / "data"` and returns what it wrote."""

    def write(name: str) -> Path:
        (tmp_path / "data").mkdir(exist_ok=True)
        return write_data.WRITERS[name](tmp_path / "data")

    return write


@pytest.fixture(autouse=True, scope="session")
def compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One persistent XLA cache for the whole session (`dslc train` subprocesses inherit it), never ~/.cache."""
    folder = tmp_path_factory.mktemp("xla-cache")
    os.environ["DSLC_COMPILE_CACHE"] = str(folder)
    return folder


@pytest.fixture(autouse=True)
def full_optimization(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test marked `optimized` compiles with all of XLA's optimisations, in this process and in those it starts."""
    if request.node.get_closest_marker("optimized") is None:
        yield
        return
    import jax

    monkeypatch.setenv("JAX_DISABLE_MOST_OPTIMIZATIONS", "0")
    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", before)


# The longest test files (seconds on 2 idle cores, summed over a file's tests: `--junitxml` of a whole run), handed
# to the workers first, longest first. pytest-xdist's `--dist loadfile` runs each file whole on one worker, and by
# default hands the files out by their number of tests, most first: the few long end-to-end files then came last,
# and one worker ran the last of them alone while the other sat idle. `--no-loadscope-reorder` (pyproject.toml)
# keeps the collection's order, which `pytest_collection_modifyitems` makes this one; other files follow in their
# usual order. A file missing here is only scheduled later, never skipped.
LONGEST_FIRST = (
    "tests/runtime/test_parallel_cli.py",  # 45 s
    "tests/runtime/test_resume_cli.py",  # 41 s
    "tests/compiler/test_build.py",  # 35 s
    "tests/runtime/test_workers.py",  # 30 s
    "tests/compiler/test_scan.py",  # 28 s
    "tests/compiler/test_steps.py",  # 26 s
    "tests/runtime/test_fine_tuning.py",  # 24 s
    "tests/compiler/test_conv_lowering.py",  # 23 s
    "tests/spec/test_hostile_corpus.py",  # 23 s
    "tests/zoo/test_vision.py",  # 22 s
    "tests/compiler/test_generate.py",  # 20 s
    "tests/runtime/test_pretrained.py",  # 19 s
    "tests/runtime/test_compile_cli.py",  # 18 s
    "tests/compiler/test_onnx_export.py",  # 17 s
    "tests/runtime/test_programs.py",  # 17 s
    "tests/spec/test_properties.py",  # 17 s
    "tests/runtime/test_arrays.py",  # 15 s
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (`LONGEST_FIRST`; a stable sort keeps each file's own order). Equivalence tests
    against reference implementations (`@pytest.mark.reference`) run on demand only.

    They need PyTorch and transformers, which dslc never imports: `pip install torch==2.13.0 -e '.[reference]'`,
    then `python -m pytest -m reference`.
    """
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))
    expression = config.getoption("markexpr") or ""
    if "reference" in expression and "not reference" not in expression:
        return
    skip = pytest.mark.skip(reason="on demand: python -m pytest -m reference (needs the [reference] extra)")
    for item in items:
        if "reference" in item.keywords:
            item.add_marker(skip)
