"""The C library's allocator, set for running models: freed memory is kept for the next step, not handed back.

XLA's CPU runtime allocates a program's buffers afresh at every call. glibc's malloc serves an allocation above its
mmap threshold (128 KiB at first, rising to at most 32 MiB) with a new `mmap` and returns it with `munmap` when it
is freed, so every step touched its larger buffers' pages anew: a page fault each, the kernel zeroing every page.
W2's compiled train step took 46 ms that way and 31 ms with the allocator set as here: `dslc train` runs W2 at 21
-> 29 steps/s, with the same parameters and a peak memory up to 150 MiB higher (docs/performance.md#the-allocator).

The `dslc` executable sets it for the commands that build or run a model (`cli.run`). Library use (`dslc.api`,
`cli.main`) leaves the host process's allocator as it is: it is the caller's. So does a user who chose their own:
an allocator preloaded (`LD_PRELOAD`, such as jemalloc or tcmalloc) or glibc's own settings in the environment
(`GLIBC_TUNABLES`, `MALLOC_*`).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

# mallopt's parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
MMAP_MAX = 0  # every allocation from the heap, none mapped on its own
TRIM_THRESHOLD = 2**28  # up to 256 MiB of freed memory at the heap's top is kept rather than returned


def user_chose_allocator(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment (default: the process's) names an allocator or glibc malloc settings of its own."""
    environ = os.environ if environ is None else environ
    return any(name in ("LD_PRELOAD", "GLIBC_TUNABLES") or name.startswith("MALLOC_") for name in environ)


def keep_freed_memory() -> bool:
    """Serves every allocation from glibc's heap and keeps freed memory for the next; returns whether it did
    (False where the C library is not glibc, or the user chose the allocator's settings)."""
    if user_chose_allocator():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's C library
    except (AttributeError, OSError, TypeError):  # no mallopt: not glibc (macOS, Windows)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, MMAP_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
