"""Coverage-guided fuzzing of both front ends with atheris (on demand, not in CI; pytest does not collect it).

    pip install -e '.[fuzz]'
    python tests/atheris_frontends.py -max_total_time=600        # any libFuzzer flag; corpus folders may follow

Every input is read as a spec file is (strict UTF-8, NUL bytes refused), then loaded as YAML and as the DSL,
analysed when it loads, and its errors rendered with their excerpts: anything raised but `DslcError` or
`DslcErrors` is a finding (libFuzzer stops and writes the input to crash-*). The seeds are the examples and
the invalid and hostile fixtures (those of up to 64 KiB), copied to a scratch folder that collects the corpus.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["dslc"]):
    from dslc.compiler.analysis.analyse import analyse
    from dslc.spec.errors import DslcError, DslcErrors
    from dslc.spec.load import load_source
    from dslc.spec.source import decode_source

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [ROOT / "examples", ROOT / "tests" / "fixtures" / "invalid", ROOT / "tests" / "fixtures" / "hostile"]
MAX_SEED_BYTES = 64 * 1024


def test_one_input(data: bytes) -> None:
    for syntax, name in (("yaml", "fuzz.yaml"), ("dsl", "fuzz.dsl")):
        try:
            source = decode_source(data, name)
            analyse(load_source(source, syntax))
        except DslcErrors as errors:
            for error in errors.errors:
                error.render(errors.source)
        except DslcError as error:
            error.render()


def seed_corpus() -> Path:
    corpus = Path(tempfile.mkdtemp(prefix="dslc-atheris-"))
    for folder in SEEDS:
        for path in folder.iterdir():
            if path.is_file() and path.stat().st_size <= MAX_SEED_BYTES:
                shutil.copy(path, corpus / f"{folder.name}-{path.name}")
    return corpus


def main() -> None:
    flags = [arg for arg in sys.argv[1:] if arg.startswith("-")]
    folders = [arg for arg in sys.argv[1:] if not arg.startswith("-")] or [str(seed_corpus())]
    atheris.Setup([sys.argv[0], "-max_len=8192", "-timeout=10", "-rss_limit_mb=2048", *flags, *folders],
                  test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
