"""Hostile input (docs/safety.md): `dslc check` rejects every hostile spec cleanly, in bounded CPU time and memory.

The corpus is every file under tests/fixtures/hostile, which starts with header comment lines in the format
of tests/fixtures/invalid (`# expect: CODE LINE:COL`, line numbers counting the header), plus inputs that
cannot be committed or carry no header (empty files, invalid UTF-8 at the start, NUL bytes, nesting 10**3 to
10**5 deep, megabyte lines and strings, hundreds of thousands of tiny items, canaries under the test's own folder,
hostile file names), generated
into a temporary folder here with their expectations in `GENERATED`.

Each file is checked by `dslc check FILE` in a fresh process (a child forked from a check server that imported
dslc once: tests/spec/check_server.py), run in an empty folder with an address-space limit of 500 MB, and must:

- exit with code 2, print `file:line:col: error[CODE]` for each expected error, and no traceback;
- print only printable text: no control character but new line and tab, no format (bidi, zero-width)
  character, no line or paragraph separator (categories Cc, Cf, Zl, Zp); and only lines of a report
  (`file:...`, indented excerpts and hints, the summary): a value or file name cannot forge a line;
- create, change and delete nothing: not in its working folder, not in HOME or TMPDIR (both pointed at
  watched empty folders), not next to the spec; no canary a payload names may exist afterwards;
- take less than 2.5 s of CPU time (user + system) and less than 500 MB of peak memory (both from `os.wait4`).
  CPU time is what the input costs dslc, whatever else the machine is doing; wall time is only a hang guard
  here (30 s), and `python bench/hostile.py` prints the wall-clock figures.

The files are checked two at a time by the module fixture `outcomes`. `python bench/hostile.py` runs the same
corpus through `python -m dslc check`, one fresh process per file, and prints wall-clock and CPU figures.
"""

from __future__ import annotations

import json
import os
import queue
import re
import resource
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from dslc.spec.errors import DslcErrors, Span, did_you_mean, printable, reset_hint_budget
from dslc.spec.limits import DEFAULT_LIMITS
from dslc.spec.load import load_text

HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "hostile"
COMMITTED = sorted([*HOSTILE.glob("*.yaml"), *HOSTILE.glob("*.dsl")])
EXPECT = re.compile(r"^# expect: (E\d{3}) (\d+):(\d+)\s*$")
CANARY = re.compile(rb"dslc-canary-[A-Za-z0-9-]+")

MEMORY_LIMIT = 500 * 2**20  # bytes of address space, and of peak resident memory
# Seconds of CPU (user + system) per file, Python's start-up and dslc's imports not included. The costliest input
# (100,000 DSL tokens, the item budget's worth) took 1.8 s alone and 2.2 s with both cores busy (shared caches):
# lark's lexing and tree building, which the limit bounds with room for a busy machine.
CPU_LIMIT = 2.5
KILL_AFTER = 30.0  # seconds of wall time: a run this long has failed anyway
UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp"}
SUMMARY = re.compile(r"^\d+ file\(s\) checked: ")
WORKERS = 2  # files checked at a time

Expected = tuple[tuple[str, int | None, int | None], ...]  # (code, line, col); None: any position


# -- what a run looks like -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    returncode: int
    output: str  # stdout then stderr
    utf8: bool  # whether the output was valid UTF-8
    cpu: float  # seconds of CPU time, user + system
    wall: float  # seconds of wall time (reported, never a bound)
    peak: int  # bytes of resident memory at the peak

    def describe(self, path: Path) -> str:
        tail = "\n".join(printable(line) for line in self.output.splitlines()[-25:])
        return (f"{printable(str(path))}: exit code {self.returncode}, {self.cpu:.2f} s CPU ({self.wall:.2f} s wall), "
                f"{self.peak / 2**20:.0f} MB peak; output tail:\n{tail}")


# Each file is checked in a child forked by a check server (tests/spec/check_server.py), which imported dslc's
# check command once: a fresh process as far as the input can tell, without Python's start-up on every file.
SERVER = Path(__file__).resolve().parent / "check_server.py"


class CheckServer:
    """One long-lived `check_server.py` process: `run` checks one file in a forked child and reports its costs."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), str(MEMORY_LIMIT), str(int(KILL_AFTER))], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})

    def run(self, path: Path, cwd: Path, env: dict[str, str]) -> Run:
        out_path, err_path = cwd.parent / "stdout", cwd.parent / "stderr"
        job = {"path": str(path), "cwd": str(cwd), "env": env, "stdout": str(out_path), "stderr": str(err_path)}
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        assert reply, f"the check server died on {printable(str(path))}"
        return _run_from(json.loads(reply), out_path.read_bytes() + err_path.read_bytes())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _run_from(report: dict, raw: bytes) -> Run:
    try:
        output, utf8 = raw.decode("utf-8"), True
    except UnicodeDecodeError:
        output, utf8 = raw.decode("utf-8", errors="backslashreplace"), False
    return Run(report["returncode"], output, utf8, report["cpu"], report["wall"], report["peak_kib"] * 1024)


@pytest.fixture(scope="module")
def servers() -> Iterator[queue.Queue[CheckServer]]:
    """`WORKERS` check servers; a job takes one from the queue and puts it back."""
    started = [CheckServer() for _ in range(WORKERS)]
    pool: queue.Queue[CheckServer] = queue.Queue()
    for server in started:
        pool.put(server)
    yield pool
    for server in started:
        server.close()


def run_check(path: Path, cwd: Path, env: dict[str, str], servers: queue.Queue[CheckServer]) -> Run:
    server = servers.get()
    try:
        return server.run(path, cwd, env)
    finally:
        servers.put(server)


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under `folder`: relative path -> (size, mtime in ns)."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            stat = path.lstat()
            found[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return found


def assert_rejected(path: Path, expected: Expected, workspace: Path, servers: queue.Queue[CheckServer],
                    canaries: tuple[Path, ...] = (), memory: int = MEMORY_LIMIT) -> Run:
    """Run `dslc check` on `path` in `workspace` (a fresh empty folder) and check everything the module promises."""
    cwd, home, tmp = workspace / "cwd", workspace / "home", workspace / "tmp"
    for folder in (cwd, home, tmp):
        folder.mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
    watched = (cwd, home, tmp, path.parent)
    before = [listing(folder) for folder in watched]
    run = run_check(path, cwd, env, servers)
    context = run.describe(path)
    assert run.returncode == 2, context
    assert "Traceback" not in run.output and "internal error" not in run.output, context
    assert "jax was imported" not in run.output, f"dslc check imported JAX: {context}"
    assert run.utf8, f"output that is not UTF-8 from {context}"
    bad = sorted({f"U+{ord(ch):04X}" for ch in run.output
                  if unicodedata.category(ch) in UNPRINTABLE and ch not in "\n\t"})
    assert not bad, f"unescaped characters {bad} in the output of {context}"
    lines = run.output.splitlines()
    shown = printable(str(path))
    forged = [line for line in lines if not (line.startswith((f"{shown}:", " ")) or SUMMARY.match(line))]
    assert not forged, f"lines that are no part of a report {forged[:3]} in {context}"
    for code, line, col in expected:
        if line is None:
            pattern = re.compile(rf"{re.escape(shown)}:\d+:\d+: error\[{code}\]: ")
            assert any(pattern.match(text) for text in lines), f"no error[{code}] in {context}"
        else:
            prefix = f"{shown}:{line}:{col}: error[{code}]: "
            assert any(text.startswith(prefix) for text in lines), f"missing {prefix!r} in {context}"
    assert [listing(folder) for folder in watched] == before, f"files were created or changed by {context}"
    names = CANARY.findall(path.read_bytes())
    for canary in (*canaries, *(folder / name.decode() for folder in watched for name in names)):
        assert not canary.exists(), f"the canary {canary} exists after {context}"
    assert run.cpu < CPU_LIMIT, f"too slow: {context}"
    assert run.peak < memory, f"too much memory: {context}"
    return run


# -- the committed corpus ------------------------------------------------------------------------------------------
def expectation(path: Path) -> Expected:
    """The `# expect:` lines of a file's header (decoded leniently: some files hold invalid UTF-8 on purpose)."""
    found = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            break
        if match := EXPECT.match(line):
            found.append((match[1], int(match[2]), int(match[3])))
    return tuple(found)


# -- the generated corpus ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Generated:
    name: str  # the file's name (its suffix picks the syntax)
    content: Callable[[Path], bytes]  # the file's bytes, given the folder for canaries
    expected: Expected
    canaries: tuple[str, ...] = ()  # files (in the canary folder) that the payload would create
    memory: int = MEMORY_LIMIT  # bytes of peak memory allowed, where a tighter bound pins a fix

    @property
    def id(self) -> str:
        return ascii(self.name)[1:-1]


def _text(text: str) -> Callable[[Path], bytes]:
    return lambda _: text.encode("utf-8")


def _bytes(data: bytes) -> Callable[[Path], bytes]:
    return lambda _: data


YAML_HEAD = "dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers:\n"
DSL_HEAD = "dslc 1\nmodel m(x: [4]) {\n"
MEGABYTES_5 = 5_000_000
BIG = 990_000  # characters: just under the 1 MB byte budget


def _nesting() -> list[Generated]:
    cases = []
    for n in (1_000, 10_000, 100_000):
        # The depth budget is 64 (the root mapping is level 1); the error is at the first opener too deep.
        cases += [
            Generated(f"nested_lists_{n}.yaml", _text("dslc: 1\nmodel: " + "[" * n + "]" * n + "\n"),
                      (("E005", 2, 8 + 63),)),
            Generated(f"nested_mappings_{n}.yaml", _text("dslc: 1\nmodel: " + "{a: " * n + "1" + "}" * n + "\n"),
                      (("E005", 2, 8 + 4 * 63),)),
            Generated(f"nested_unclosed_{n}.yaml", _text("dslc: 1\nmodel: " + "[" * n + "\n"), (("E005", 2, 8 + 63),)),
            Generated(f"nested_block_sequences_{n}.yaml", _text("dslc: 1\nmodel:\n" + "- " * n + "x\n"),
                      (("E005", 3, 1 + 2 * 63),)),
            Generated(f"nested_lists_{n}.dsl", _text(DSL_HEAD + "  reshape(" + "[" * n + "]" * n + ")\n}\n"),
                      (("E005", 3, 11 + 62),)),  # the model's '{' and 'reshape(' are two levels
            Generated(f"nested_calls_{n}.dsl", _text(DSL_HEAD + "  dense(" + "f(" * n + "1" + ")" * n + ")\n}\n"),
                      (("E005", 3, 8 + 2 * 63),)),
            Generated(f"nested_mappings_{n}.dsl",
                      _text(DSL_HEAD + "  relu\n}\ntrain { checkpoint = " + "{a = " * n + "1" + "}" * n + " }\n"),
                      (("E005", 5, 22 + 5 * 63),)),
            Generated(f"nested_unclosed_{n}.dsl", _text(DSL_HEAD + "  reshape(" + "[" * n + "\n"),
                      (("E005", 3, 11 + 62),)),
        ]
    # Block-style nesting costs n**2 bytes of indentation: 1,000 levels is half the byte budget.
    cases.append(Generated("nested_block_mappings_1000.yaml",
                           _text("dslc: 1\nmodel:\n" + "".join(" " * i + "a:\n" for i in range(1, 1_001))),
                           (("E005", 66, 65),)))
    return cases


def _many_items() -> list[Generated]:
    """Within the byte budget, hundreds of thousands of tiny items (they took 3 to 25 s, and up to 730 MB and 40 MB
    of output): the item budget (E017) stops each front end while it reads, at the first item over the budget."""
    items = DEFAULT_LIMITS.max_items + 1  # the offending item's number
    flow = "dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers: [" + ",".join(["relu"] * 190_000) + "]\n"
    arguments = DSL_HEAD + "  dense(" + ",".join(["1"] * 300_000) + ")\n}\n"
    return [
        # 14 nodes come before the first layer, at column 12; each layer is 5 columns
        Generated("flow_layers_190000.yaml", _text(flow), (("E017", 5, 12 + 5 * (items - 15)),)),
        # 15 nodes before the first key (line 7); a key and its value are two nodes
        Generated("duplicate_keys_150000.yaml", _text(YAML_HEAD + "    - relu\n" + "k: 1\n" * 150_000),
                  (("E017", 7 + (items - 17) // 2, 4),)),
        # DSL_HEAD and 'dense(' are 16 tokens; an argument and its comma are two
        Generated("call_arguments_300000.dsl", _text(arguments), (("E017", 3, 9 + (items - 17)),)),
        # DSL_HEAD is 14 tokens; a layer and its arrow are two, 8 columns
        Generated("layers_on_one_line_100000.dsl", _text(DSL_HEAD + "  " + " -> ".join(["relu"] * 100_000) + "\n}\n"),
                  (("E017", 3, 3 + 8 * ((items - 15) // 2)),)),
        # Just within the budget: 49,990 duplicate keys, each an error; the report shows the first 100
        Generated("duplicate_keys_49990.yaml", _text(YAML_HEAD + "    - relu\n" + "k: 1\n" * 49_990),
                  (("E012", 8, 1), ("E012", 106, 1))),
    ]


def _canary_payloads() -> list[Generated]:
    def apply(folder: Path) -> bytes:
        return f'dslc: 1\nmodel: !!python/object/apply:os.system ["touch {folder}/canary-system"]\n'.encode()

    def opened(folder: Path) -> bytes:
        return (YAML_HEAD + f'    - dense: {{units: !!python/object/apply:builtins.open ["{folder}/canary-open", '
                            '"w"]}\n').encode()

    def popen(folder: Path) -> bytes:
        return (f'dslc: 1\nmodel: !!python/object/new:subprocess.Popen [["touch", "{folder}/canary-popen"]]\n'
                .encode())

    return [Generated("canary_os_system.yaml", apply, (("E011", 2, 8),), ("canary-system",)),
            Generated("canary_builtins_open.yaml", opened, (("E011", 6, 22),), ("canary-open",)),
            Generated("canary_popen.yaml", popen, (("E011", 2, 8),), ("canary-popen",))]


GENERATED: list[Generated] = [
    # Empty, blank and comment-only files.
    Generated("empty.yaml", _bytes(b""), (("E014", 1, 1),)),
    Generated("empty.dsl", _bytes(b""), (("E014", 1, 1),)),
    Generated("byte_order_mark_only.yaml", _bytes(b"\xef\xbb\xbf"), (("E014", 1, 1),)),
    Generated("blank_lines_only.yaml", _bytes(b"  \n\n   \n"), (("E014", 1, 1),)),
    Generated("white_space_only.dsl", _bytes(b" \n\t\n\x0c\n"), (("E014", 1, 1),)),
    # Bytes that are not UTF-8 text.
    Generated("invalid_utf8_first_byte.yaml", _bytes(b"\xff\xfedslc: 1\n"), (("E003", 1, 1),)),
    Generated("utf16.dsl", _bytes("dslc 1\nmodel m(x: [4]) {\n  relu\n}\n".encode("utf-16")), (("E003", 1, 1),)),
    Generated("truncated_utf8_at_the_end.yaml", _bytes(b"dslc: 1\nmodel: \xe2\x82"), (("E003", 2, 8),)),
    Generated("encoded_surrogate.dsl", _bytes(DSL_HEAD.encode() + b"  \xed\xa0\x80\n}\n"), (("E003", 3, 3),)),
    Generated("overlong_slash.yaml", _bytes(b"dslc: 1\nmodel: {name: \xc0\xaf}\n"), (("E003", 2, 15),)),
    Generated("nul_first.yaml", _bytes(b"\x00dslc: 1\n"), (("E003", 1, 1),)),
    Generated("nul_only.dsl", _bytes(b"\x00" * 64), (("E003", 1, 1),)),
    Generated("nul_in_a_comment.dsl", _bytes(b"dslc 1\n# \x00\n"), (("E003", 2, 3),)),
    Generated("nul_in_a_string.yaml", _bytes(b'dslc: 1\nmodel: {name: "a\x00b"}\n'), (("E003", 2, 17),)),
    # Megabyte lines and strings: over the byte budget, or just under it.
    Generated("five_megabyte_line.yaml", _text("dslc: 1\n# " + "a" * MEGABYTES_5 + "\n"), (("E002", 1, 1),)),
    Generated("five_megabyte_string.dsl", _text(DSL_HEAD + '  dense(1, name="' + "a" * MEGABYTES_5 + '")\n}\n'),
              (("E002", 1, 1),)),
    Generated("long_model_name.yaml", _text('dslc: 1\nmodel:\n  name: "' + "a" * BIG + '"\n  inputs: {x: [4]}\n'
                                            "  layers: [relu]\n"), (("E205", 3, 9),)),
    Generated("long_key.yaml", _text("dslc: 1\n" + "k" * BIG + ": 1\n"), (("E010", None, None),)),
    Generated("long_layer_kind.yaml", _text(YAML_HEAD + "    - " + "d" * BIG + "\n"), (("E104", 6, 7),)),
    Generated("long_number.yaml", _text(YAML_HEAD + "    - dense: {units: " + "9" * BIG + "}\n"), (("E205", 6, 22),)),
    Generated("long_float.yaml", _text(YAML_HEAD + "    - dense: {units: 1." + "9" * BIG + "}\n"), (("E205", 6, 22),)),
    # The DSL's lexer kept regex state per character of a string or number: 250 MB for this one string.
    Generated("long_name_string.dsl", _text(DSL_HEAD + '  dense(10, name="' + "a" * BIG + '")\n}\n'),
              (("E205", 3, 18),), memory=100 * 2**20),
    Generated("long_layer_kind.dsl", _text(DSL_HEAD + "  " + "d" * BIG + "\n}\n"), (("E104", 3, 3),)),
    Generated("long_label.dsl", _text(DSL_HEAD + "  " + "d" * BIG + ": dnse\n}\n"), (("E104", 3, BIG + 5),)),
    Generated("long_number.dsl", _text(DSL_HEAD + "  dense(" + "9" * BIG + ")\n}\n"), (("E205", 3, 9),),
              memory=100 * 2**20),
    Generated("long_exponent.dsl", _text(DSL_HEAD + "  dense(1e" + "9" * BIG + ")\n}\n"), (("E205", 3, 9),)),
    Generated("long_comment.dsl", _text(DSL_HEAD + "  dnse  # " + "c" * BIG + "\n}\n"), (("E104", 3, 3),)),
    # Many findings: rendering and did-you-mean hints must stay linear (they were quadratic); the report shows
    # the first 100 (--max-errors).
    Generated("twenty_thousand_duplicate_keys.yaml", _text(YAML_HEAD + "    - relu\n" + "k: 1\n" * 20_000),
              (("E012", 8, 1), ("E012", 107, 1))),
    Generated("three_thousand_misspelt_references.yaml",
              _text(YAML_HEAD + "".join(f"    - {{relu: {{}}, name: layer_{i}, from: layer_{i}x}}\n"
                                        for i in range(3_000))),
              (("E401", 6, 39), ("E401", 105, 40))),
    *_many_items(),
    # Hostile file names: escaped in the output, no forged lines.
    Generated("bidi\u202elmay.yaml", _text("dslc: 1\nmodel: [\n"), (("E010", 3, 1),)),
    Generated("new\nline.dsl", _text(DSL_HEAD + "  dnse\n}\n"), (("E104", 3, 3),)),
    *_nesting(),
    *_canary_payloads(),
]



# -- running the corpus --------------------------------------------------------------------------------------------
def _check_committed(path: Path, workspace: Path, servers: queue.Queue[CheckServer]) -> str | None:
    try:
        assert_rejected(path, expectation(path), workspace, servers)
    except AssertionError as failure:
        return str(failure)
    except Exception as exc:  # noqa: BLE001 - the launcher failed: report it with this file, not the whole module
        return f"{path.name}: {type(exc).__name__}: {exc}"
    return None


def _check_generated(case: Generated, workspace: Path, servers: queue.Queue[CheckServer]) -> str | None:
    specs, canaries = workspace / "specs", workspace / "canaries"
    specs.mkdir()
    canaries.mkdir()
    path = specs / case.name
    path.write_bytes(case.content(canaries))
    try:
        canary_paths = tuple(canaries / name for name in case.canaries)
        assert_rejected(path, case.expected, workspace / "run", servers, canary_paths, case.memory)
    except AssertionError as failure:
        return str(failure)
    except Exception as exc:  # noqa: BLE001 - as above
        return f"{case.id}: {type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             servers: queue.Queue[CheckServer]) -> dict[str, str | None]:
    """What went wrong with each selected file (None: nothing), checked `WORKERS` at a time."""
    here = Path(__file__).resolve()
    selected = set()
    for item in request.session.items:  # run only the files whose tests were selected (-k, node ids)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "key" in params and Path(item.path).resolve() == here:
            selected.add(params["key"])
    jobs: dict[str, Callable[[], str | None]] = {}
    for path in COMMITTED:
        if f"committed-{path.name}" in selected:
            workspace = tmp_path_factory.mktemp("hostile")
            jobs[f"committed-{path.name}"] = partial(_check_committed, path, workspace, servers)
    for case in GENERATED:
        if f"generated-{case.id}" in selected:
            jobs[f"generated-{case.id}"] = partial(_check_generated, case, tmp_path_factory.mktemp("hostile"), servers)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def test_a_valid_spec_passes_under_the_same_limits(tmp_path: Path, servers: queue.Queue[CheckServer]) -> None:
    """The harness itself: a real example passes in a forked child, within the limits, without importing JAX."""
    example = Path(__file__).resolve().parent.parent.parent / "examples" / "digits_cnn.yaml"
    (tmp_path / "cwd").mkdir()
    run = run_check(example, tmp_path / "cwd", {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, servers)
    assert run.returncode == 0 and ": ok: model 'digits_cnn'" in run.output, run.describe(example)
    assert "jax was imported" not in run.output, run.describe(example)
    assert run.cpu < CPU_LIMIT and run.peak < MEMORY_LIMIT, run.describe(example)


def test_a_fresh_python_process_rejects_hostile_input_within_the_limits(tmp_path: Path) -> None:
    """What the corpus' forked children stand for: `python -m dslc check` from its own start-up, under the same
    address-space limit, in CPU time that includes Python's start-up and dslc's imports."""
    path = HOSTILE / "alias_billion_laughs.yaml"

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    def cpu_of_children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    before = cpu_of_children()
    done = subprocess.run([sys.executable, "-m", "dslc", "check", str(path)], cwd=tmp_path, preexec_fn=cap,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=KILL_AFTER)
    cpu = cpu_of_children() - before
    assert done.returncode == 2 and b"error[E006]" in done.stdout, done.stdout + done.stderr
    assert cpu < CPU_LIMIT, f"{cpu:.2f} s of CPU"  # start-up and imports included: about 0.4 s
def test_the_corpus_is_large_and_covers_both_syntaxes() -> None:
    yaml_count = sum(path.suffix == ".yaml" for path in COMMITTED)
    dsl_count = sum(path.suffix == ".dsl" for path in COMMITTED)
    assert yaml_count >= 20 and dsl_count >= 20 and yaml_count + dsl_count >= 40
    for path in COMMITTED:
        assert expectation(path), f"{path.name}: no '# expect: CODE LINE:COL' header line"


@pytest.mark.parametrize("key", [f"committed-{path.name}" for path in COMMITTED],
                         ids=[f"committed-{path.name}" for path in COMMITTED])
def test_a_committed_hostile_spec_is_rejected(key: str, outcomes: dict[str, str | None]) -> None:
    failure = outcomes[key]
    assert failure is None, failure


@pytest.mark.parametrize("key", [f"generated-{case.id}" for case in GENERATED],
                         ids=[f"generated-{case.id}" for case in GENERATED])
def test_a_generated_hostile_spec_is_rejected(key: str, outcomes: dict[str, str | None]) -> None:
    failure = outcomes[key]
    assert failure is None, failure




def test_the_canary_payloads_are_live(tmp_path: Path) -> None:
    """PyYAML's unsafe loader runs the corpus' payload (so that the canary checks above mean something)."""
    source = HOSTILE / "tag_python_object_apply.yaml"
    code = f"import yaml; yaml.unsafe_load(open({str(source)!r}).read())"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert (tmp_path / "dslc-canary-apply").exists()


# -- regressions found with the corpus -----------------------------------------------------------------------------
def _errors(text: str, syntax: str) -> DslcErrors:
    with pytest.raises(DslcErrors) as info:
        load_text(text, syntax)  # type: ignore[arg-type]
    return info.value


def test_excerpts_count_lines_at_new_lines_only() -> None:
    """A form feed (DSL) is no line break for spans; the excerpt showed the wrong line. U+2028, which PyYAML alone
    counts as a line break, is rejected (E019) where it stands, the carets under its escape."""
    errors = _errors("dslc 1\x0c\nmodel m(x: [4]) {\x0c\n  dnse(10)\n}\n", "dsl")
    assert errors.errors[0].render(errors.source).splitlines()[1] == "      dnse(10)"
    errors = _errors('dslc: 1\nmodel:\n  name: "a\u2028b"\n  inputs: {x: [4]}\n  layers: [dnse]\n', "yaml")
    assert [(e.code, e.span.line, e.span.col) for e in errors.errors] == [("E019", 3, 11)]
    assert errors.errors[0].render(errors.source).splitlines()[1:3] == ['      name: "a\\u2028b"',
                                                                        "              ^^^^^^"]


def test_a_mapping_where_a_value_belongs_is_reported_once() -> None:
    errors = _errors("dslc 1\nmodel m(x: [4]) {\n  dense(units={n = 10})\n}\n", "dsl")
    assert [(e.code, e.span.line, e.span.col) for e in errors.errors] == [("E103", 3, 15)]


def test_a_cycle_is_reported_with_its_own_layers_only() -> None:
    errors = _errors("dslc 1\nmodel m(x: [4]) {\n  d: dense(3, from=b)\n  a: dense(4, from=b)\n  b: dense(4, from=a)\n"
                     "  e: dense(5, from=d)\n}\n", "dsl")
    assert [(e.code, e.span.line, e.message) for e in errors.errors] == \
        [("E403", 4, "the layer graph has a cycle through a, b")]


def test_file_names_are_printed_escaped() -> None:
    assert str(Span("a\u202eb\nc.yaml", 3, 4)) == "a\\u202eb\\nc.yaml:3:4"


def test_did_you_mean_has_a_budget_per_file() -> None:
    """50,000 misspelt references to 50,000 layer names cost 20,000 comparisons, not 2.5 billion."""
    names = [f"layer_{i}" for i in range(10_000)]
    reset_hint_budget()
    assert did_you_mean("dnse", ("dense", "relu")) == "did you mean 'dense'?"
    hints = [did_you_mean("layer_1x", names) for _ in range(20)]
    assert hints[0] == "did you mean 'layer_1'?" and hints.count(None) == 19  # 20,000 comparisons in all
    for _ in range(20_000):  # a hint already found costs nothing to give again
        assert did_you_mean("dnse", ("dense", "relu")) == "did you mean 'dense'?"
    reset_hint_budget()  # `load` does this for each file
    assert did_you_mean("layer_1x", names) is not None
    assert did_you_mean("x" * 1_000, ["x" * 1_000]) is None  # longer than any name: no difflib on it


def test_nested_block_instances_are_named_by_their_path() -> None:
    """Each nested instance added its full path again: names doubled per level, and 40 levels took all memory."""
    blocks = "".join(f"  b{i}: {{layers: [b{i - 1}, relu]}}\n" for i in range(1, 40))
    text = (f"dslc: 1\nblocks:\n  b0: {{layers: [relu]}}\n{blocks}model:\n  name: m\n  inputs: {{x: [4]}}\n"
            "  layers: [b39, {b2: {}, name: s, repeat: 2}]\n")
    names = [node.name for node in load_text(text, "yaml").graph.nodes]
    assert names[0] == "/".join(f"b{i}_1" for i in range(39, -1, -1)) + "/relu_1"
    assert names[-6:] == ["s.1/b1_1/b0_1/relu_1", "s.1/b1_1/relu_1", "s.1/relu_1",
                          "s.2/b1_1/b0_1/relu_1", "s.2/b1_1/relu_1", "s.2/relu_1"]
