"""The allocator setting of the `dslc` executable (runtime/host_memory.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dslc.runtime import cli, host_memory

# In a fresh interpreter: allocate 64 MiB with the C library's malloc and print by how much that grew the bytes glibc
# holds in mapped regions of their own (mallinfo2's hblkhd), after `keep_freed_memory()` when argv[1] says so.
MAPPED_BYTES = """
import ctypes, sys
from dslc.runtime.host_memory import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(None)
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.mallinfo2.restype = MallInfo2
before = libc.mallinfo2().hblkhd
block = libc.malloc(64 * 2**20)
print(applied, libc.mallinfo2().hblkhd - before)
"""


def _glibc_with_mallinfo2() -> bool:
    import ctypes

    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2")
    except (OSError, TypeError):
        return False


def _mapped_bytes(mode: str) -> tuple[str, int]:
    env = {name: value for name, value in os.environ.items() if not host_memory.user_chose_allocator({name: value})}
    out = subprocess.run([sys.executable, "-c", MAPPED_BYTES, mode], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc 2.33 or later only")
def test_a_large_allocation_comes_from_the_heap_once_set() -> None:
    applied, mapped = _mapped_bytes("default")
    assert applied == "None" and mapped > 64 * 2**20  # glibc's default: the block is a mapped region of its own
    assert _mapped_bytes("keep") == ("True", 0)


@pytest.mark.parametrize(("environ", "chose"), [
    ({"PATH": "/usr/bin", "HOME": "/root"}, False),
    ({"LD_PRELOAD": "libjemalloc.so.2"}, True),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}, True),
    ({"MALLOC_ARENA_MAX": "2"}, True),
    ({"MALLOC_MMAP_THRESHOLD_": "131072"}, True),
])
def test_an_allocator_the_user_chose_is_left_alone(environ: dict[str, str], chose: bool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert host_memory.user_chose_allocator(environ) is chose
    monkeypatch.setattr(os, "environ", environ)
    if chose:
        assert host_memory.keep_freed_memory() is False


@pytest.mark.parametrize(("argv", "sets"), [
    (["train", "spec.yaml"], True),
    (["--debug", "predict", "spec.yaml"], True),
    (["check", "spec.yaml"], False),
    (["summary", "spec.yaml"], False),
    (["--help"], False),
])
def test_the_executable_sets_the_allocator_for_commands_that_run_models(argv: list[str], sets: bool,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(sys, "argv", ["dslc", *argv])
    monkeypatch.setattr(host_memory, "keep_freed_memory", lambda: calls.append("set") or True)
    monkeypatch.setattr(cli, "main", lambda: 0)

    def leave(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", leave)
    with pytest.raises(SystemExit):
        cli.run()
    assert calls == (["set"] if sets else [])
