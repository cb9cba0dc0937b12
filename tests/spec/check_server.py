"""A fork server for the hostile-input corpus: `dslc check` on one file per forked child, with its own limits.

Started once per worker as `python check_server.py MEMORY_LIMIT KILL_AFTER`, it imports dslc's check command once
and then reads one job per line on stdin (JSON: path, cwd, env, stdout and stderr files). For each job it forks a
child that is what `python -m dslc check PATH` would be after its imports: fresh from the import-only parent (no
check has ever run in it), in the job's folder and environment, under an address-space limit, with its output in
the job's files. The parent waits for it and answers one JSON line: the exit code, the child's CPU time (user +
system: what the input cost, whatever else the machine is doing), its wall time (a figure for the record, never
a pass/fail bound), its peak resident memory, and whether JAX was imported.

Importing once saves about 0.3 s of CPU per file (about 200 files), so the corpus costs its inputs, not Python's
start-up. Linux carries a process's peak resident memory across fork, so a child's peak is at least the parent's
(dslc's check command imported: about 40 MB, what a fresh `dslc check` process holds too).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time


def run_child(job: dict, memory_limit: int, kill_after: int) -> None:
    """In the forked child: become `dslc check PATH` in the job's folder, then exit with its code."""
    from dslc.runtime.cli import main

    signal.alarm(kill_after)  # a hang guard only: SIGALRM's default action ends the child
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    for fd, name in ((1, job["stdout"]), (2, job["stderr"])):
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the child never returns to close it
    code = 70
    try:
        code = main(["check", job["path"]])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        if "jax" in sys.modules:  # dslc check must never import JAX: say so loudly on stderr
            print("dslc-check-server: jax was imported", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(memory_limit: int, kill_after: int) -> None:
    import dslc.runtime.cli  # noqa: F401
    import dslc.runtime.commands.check  # noqa: F401 - what every child needs, imported once

    sys.dont_write_bytecode = True  # a lazy import in a child must not write next to the sources
    for line in sys.stdin:
        job = json.loads(line)
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            run_child(job, memory_limit, kill_after)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime,
                          "wall": wall, "peak_kib": usage.ru_maxrss}), flush=True)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
